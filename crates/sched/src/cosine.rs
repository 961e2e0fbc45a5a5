//! Cosine annealing (Loshchilov & Hutter, SGDR, 2017), without and with
//! warm restarts.

use crate::LrScheduler;
use crate::error::{Result, check};
use std::f64::consts::PI;

/// η_min + ½(η₀ − η_min)(1 + cos(π t/T_max)) (PyTorch's `CosineAnnealingLR`).
/// Past `t_max` it follows the same cosine back up, with period 2·T_max, as
/// PyTorch does.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cosine {
    t_max: usize,
    eta_min: f64,
}

impl Cosine {
    /// Anneals from η₀ to `eta_min` over `t_max` steps.
    ///
    /// # Errors
    /// If `t_max` is 0 or `eta_min` is negative.
    pub fn new(t_max: usize, eta_min: f64) -> Result<Self> {
        check(t_max > 0, "cosine", "t_max", || "must be positive, got 0".into())?;
        check(eta_min >= 0.0, "cosine", "eta_min", || format!("must be >= 0, got {eta_min}"))?;
        Ok(Self { t_max, eta_min })
    }
}

impl LrScheduler for Cosine {
    fn lr(&self, base_lr: f64, step: usize) -> f64 {
        self.eta_min + (base_lr - self.eta_min) * (1.0 + (PI * step as f64 / self.t_max as f64).cos()) / 2.0
    }
}

/// Optax's `warmup_cosine_decay_schedule`, relative to η₀: a linear warm-up
/// from `init` to `peak` over `warmup_steps`, then a cosine from `peak` to
/// `end` that reaches it at step `decay_steps` (counted from 0, warm-up
/// included) and stays there: at step t ≥ w, with c = min(t − w, D − w),
/// η₀·peak·((1 − α)·(½(1 + cos(πc/(D − w))))^exponent + α), α = end/peak.
///
/// ```
/// use gradus_sched::{LrScheduler, WarmupCosine};
/// let s = WarmupCosine::new(1.0, 10, 110, 0.0, 0.1, 1.0).unwrap();
/// assert_eq!((s.lr(0.01, 0), s.lr(0.01, 5), s.lr(0.01, 10)), (0.0, 0.005, 0.01));
/// assert!((s.lr(0.01, 60) - 0.0055).abs() < 1e-15);
/// assert!((s.lr(0.01, 500) - 0.001).abs() < 1e-15);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WarmupCosine {
    peak: f64,
    warmup_steps: usize,
    decay_steps: usize,
    init: f64,
    end: f64,
    exponent: f64,
}

impl WarmupCosine {
    /// Optax's arguments, as factors of the base rate.
    ///
    /// # Errors
    /// If `decay_steps` is not beyond `warmup_steps` (Optax requires a
    /// positive cosine length), or a factor or the exponent is negative.
    pub fn new(peak: f64, warmup_steps: usize, decay_steps: usize, init: f64, end: f64, exponent: f64) -> Result<Self> {
        let name = "warmup_cosine";
        check(decay_steps > warmup_steps, name, "decay_steps", || {
            format!("must be greater than warmup_steps ({warmup_steps}), got {decay_steps}")
        })?;
        for (field, v) in [("peak", peak), ("init", init), ("end", end), ("exponent", exponent)] {
            check(v >= 0.0, name, field, || format!("must be >= 0, got {v}"))?;
        }
        Ok(Self { peak, warmup_steps, decay_steps, init, end, exponent })
    }
}

impl LrScheduler for WarmupCosine {
    fn lr(&self, base_lr: f64, step: usize) -> f64 {
        // Optax's join_schedules: the linear part before the boundary, the
        // cosine after it, seeing the step less the boundary.
        let w = self.warmup_steps;
        let factor = if step < w {
            // linear_schedule = polynomial_schedule with power 1
            let frac = 1.0 - step as f64 / w as f64;
            (self.init - self.peak) * frac + self.peak
        } else {
            let alpha = if self.peak == 0.0 { 0.0 } else { self.end / self.peak };
            let length = (self.decay_steps - w) as f64;
            let count = ((step - w) as f64).min(length);
            let cosine = 0.5 * (1.0 + (PI * count / length).cos());
            self.peak * ((1.0 - alpha) * cosine.powf(self.exponent) + alpha)
        };
        base_lr * factor
    }
}

/// SGDR: cosine annealing over T_i steps, restarted at η₀, with
/// T_{i+1} = T_mult·T_i (PyTorch's `CosineAnnealingWarmRestarts`).
///
/// ```
/// use gradus_sched::{LrScheduler, WarmRestarts};
/// let s = WarmRestarts::new(10, 2, 0.0).unwrap();
/// assert_eq!(s.restarts().take(3).collect::<Vec<_>>(), vec![10, 30, 70]);
/// assert_eq!(s.lr(1.0, 30), 1.0); // a restart
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WarmRestarts {
    t_0: usize,
    t_mult: usize,
    eta_min: f64,
}

impl WarmRestarts {
    /// First period `t_0`, each next one `t_mult` times longer.
    ///
    /// # Errors
    /// If `t_0` or `t_mult` is 0, or `eta_min` is negative.
    pub fn new(t_0: usize, t_mult: usize, eta_min: f64) -> Result<Self> {
        check(t_0 > 0, "warm_restarts", "t_0", || "must be positive, got 0".into())?;
        check(t_mult >= 1, "warm_restarts", "t_mult", || "must be an integer >= 1, got 0".into())?;
        check(eta_min >= 0.0, "warm_restarts", "eta_min", || format!("must be >= 0, got {eta_min}"))?;
        Ok(Self { t_0, t_mult, eta_min })
    }

    /// (steps since the last restart, length of the current period) at `step`.
    pub fn position(&self, step: usize) -> (usize, usize) {
        let (mut t, mut period) = (step, self.t_0);
        while t >= period {
            t -= period;
            period *= self.t_mult;
        }
        (t, period)
    }

    /// The steps at which the rate restarts at η₀.
    pub fn restarts(&self) -> impl Iterator<Item = usize> + '_ {
        let mut period = self.t_0;
        let mut at = 0;
        std::iter::from_fn(move || {
            at += period;
            period *= self.t_mult;
            Some(at)
        })
    }
}

impl LrScheduler for WarmRestarts {
    fn lr(&self, base_lr: f64, step: usize) -> f64 {
        let (t, period) = self.position(step);
        self.eta_min + (base_lr - self.eta_min) * (1.0 + (PI * t as f64 / period as f64).cos()) / 2.0
    }
}
