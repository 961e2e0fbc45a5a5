//! Monotone decays and warm-ups: constant, step, multi-step, exponential,
//! inverse time, polynomial and linear, each `η_t = η₀·f(t)`.

use crate::LrScheduler;
use crate::error::{Result, check};

/// A constant rate, or PyTorch's `ConstantLR`: η₀·factor for the first
/// `total_iters` steps, then η₀. `Constant::default()` is η₀ throughout.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Constant {
    factor: f64,
    total_iters: usize,
}

impl Default for Constant {
    fn default() -> Self {
        Self { factor: 1.0, total_iters: 0 }
    }
}

impl Constant {
    /// η₀·`factor` until step `total_iters`.
    ///
    /// # Errors
    /// If `factor` is outside [0, 1].
    pub fn new(factor: f64, total_iters: usize) -> Result<Self> {
        check((0.0..=1.0).contains(&factor), "constant", "factor", || format!("must be in [0, 1], got {factor}"))?;
        Ok(Self { factor, total_iters })
    }
}

impl LrScheduler for Constant {
    fn lr(&self, base_lr: f64, step: usize) -> f64 {
        if step < self.total_iters { base_lr * self.factor } else { base_lr }
    }
}

/// Step decay η₀·γ^⌊t/s⌋ (PyTorch's `StepLR`).
///
/// ```
/// use gradus_sched::{LrScheduler, StepDecay};
/// let s = StepDecay::new(30, 0.1).unwrap();
/// assert_eq!((s.lr(1.0, 29), s.lr(1.0, 30)), (1.0, 0.1));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepDecay {
    step_size: usize,
    gamma: f64,
}

impl StepDecay {
    /// Multiplies by `gamma` every `step_size` steps.
    ///
    /// # Errors
    /// If `step_size` is 0 or `gamma` is not positive.
    pub fn new(step_size: usize, gamma: f64) -> Result<Self> {
        check(step_size > 0, "step", "step_size", || "must be positive, got 0".into())?;
        check(gamma > 0.0, "step", "gamma", || format!("must be positive, got {gamma}"))?;
        Ok(Self { step_size, gamma })
    }
}

impl LrScheduler for StepDecay {
    fn lr(&self, base_lr: f64, step: usize) -> f64 {
        base_lr * self.gamma.powi((step / self.step_size) as i32)
    }
}

/// Multi-step decay: η₀·γ^(milestones passed) (PyTorch's `MultiStepLR`; a
/// milestone listed twice counts twice).
#[derive(Clone, Debug, PartialEq)]
pub struct MultiStep {
    milestones: Vec<usize>,
    gamma: f64,
}

impl MultiStep {
    /// Multiplies by `gamma` at each milestone.
    ///
    /// # Errors
    /// If the milestones are not non-decreasing or `gamma` is not positive.
    pub fn new(milestones: Vec<usize>, gamma: f64) -> Result<Self> {
        check(milestones.windows(2).all(|w| w[0] <= w[1]), "multistep", "milestones", || {
            format!("must be increasing, got {milestones:?}")
        })?;
        check(gamma > 0.0, "multistep", "gamma", || format!("must be positive, got {gamma}"))?;
        Ok(Self { milestones, gamma })
    }
}

impl LrScheduler for MultiStep {
    fn lr(&self, base_lr: f64, step: usize) -> f64 {
        let passed = self.milestones.partition_point(|&m| m <= step);
        base_lr * self.gamma.powi(passed as i32)
    }
}

/// Exponential decay η₀·γᵗ (PyTorch's `ExponentialLR`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Exponential {
    gamma: f64,
}

impl Exponential {
    /// Multiplies by `gamma` every step.
    ///
    /// # Errors
    /// If `gamma` is not positive.
    pub fn new(gamma: f64) -> Result<Self> {
        check(gamma > 0.0, "exponential", "gamma", || format!("must be positive, got {gamma}"))?;
        Ok(Self { gamma })
    }
}

impl LrScheduler for Exponential {
    fn lr(&self, base_lr: f64, step: usize) -> f64 {
        base_lr * self.gamma.powi(step as i32)
    }
}

/// A constant factor per step, η₀·fᵗ (PyTorch's `MultiplicativeLR` with a
/// constant `lr_lambda`, which multiplies the rate by f at every step).
///
/// ```
/// use gradus_sched::{LrScheduler, Multiplicative};
/// let s = Multiplicative::new(0.5).unwrap();
/// assert_eq!((s.lr(1.0, 0), s.lr(1.0, 3)), (1.0, 0.125));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Multiplicative {
    factor: f64,
}

impl Multiplicative {
    /// Multiplies by `factor` every step.
    ///
    /// # Errors
    /// If `factor` is negative.
    pub fn new(factor: f64) -> Result<Self> {
        check(factor >= 0.0, "multiplicative", "factor", || format!("must be >= 0, got {factor}"))?;
        Ok(Self { factor })
    }
}

impl LrScheduler for Multiplicative {
    fn lr(&self, base_lr: f64, step: usize) -> f64 {
        base_lr * self.factor.powi(step as i32)
    }
}

/// Inverse-time decay η₀/(1 + k·t)^p, the Robbins–Monro family
/// (Σηₜ = ∞, Σηₜ² < ∞ for ½ < p ≤ 1); p = 1 by default.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InverseTime {
    k: f64,
    power: f64,
}

impl InverseTime {
    /// η₀/(1 + k·t)^power.
    ///
    /// # Errors
    /// If `k` is negative or `power` is not positive.
    pub fn new(k: f64, power: f64) -> Result<Self> {
        check(k >= 0.0, "inverse_time", "k", || format!("must be >= 0, got {k}"))?;
        check(power > 0.0, "inverse_time", "power", || format!("must be positive, got {power}"))?;
        Ok(Self { k, power })
    }
}

impl LrScheduler for InverseTime {
    fn lr(&self, base_lr: f64, step: usize) -> f64 {
        base_lr / (1.0 + self.k * step as f64).powf(self.power)
    }
}

/// Polynomial decay to 0: η₀·(1 − min(t, T)/T)^p (PyTorch's `PolynomialLR`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Polynomial {
    total_iters: usize,
    power: f64,
}

impl Polynomial {
    /// Reaches 0 at `total_iters`.
    ///
    /// # Errors
    /// If `total_iters` is 0 or `power` is negative.
    pub fn new(total_iters: usize, power: f64) -> Result<Self> {
        check(total_iters > 0, "polynomial", "total_iters", || "must be positive, got 0".into())?;
        check(power >= 0.0, "polynomial", "power", || format!("must be >= 0, got {power}"))?;
        Ok(Self { total_iters, power })
    }
}

impl LrScheduler for Polynomial {
    fn lr(&self, base_lr: f64, step: usize) -> f64 {
        let t = step.min(self.total_iters) as f64;
        base_lr * (1.0 - t / self.total_iters as f64).powf(self.power)
    }
}

/// Linear change of the factor from `start_factor` to `end_factor` over
/// `total_iters` steps, then constant (PyTorch's `LinearLR`): the usual
/// warm-up.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinearRamp {
    start_factor: f64,
    end_factor: f64,
    total_iters: usize,
}

impl LinearRamp {
    /// η₀·(start + (end − start)·min(t, T)/T).
    ///
    /// # Errors
    /// If `start_factor` is outside (0, 1], `end_factor` outside [0, 1], or
    /// `total_iters` is 0.
    pub fn new(start_factor: f64, end_factor: f64, total_iters: usize) -> Result<Self> {
        check(start_factor > 0.0 && start_factor <= 1.0, "linear", "start_factor", || {
            format!("must be in (0, 1], got {start_factor}")
        })?;
        check((0.0..=1.0).contains(&end_factor), "linear", "end_factor", || {
            format!("must be in [0, 1], got {end_factor}")
        })?;
        check(total_iters > 0, "linear", "total_iters", || "must be positive, got 0".into())?;
        Ok(Self { start_factor, end_factor, total_iters })
    }
}

impl LrScheduler for LinearRamp {
    fn lr(&self, base_lr: f64, step: usize) -> f64 {
        let t = step.min(self.total_iters) as f64 / self.total_iters as f64;
        base_lr * (self.start_factor + (self.end_factor - self.start_factor) * t)
    }
}
