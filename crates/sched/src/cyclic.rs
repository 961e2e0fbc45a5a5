//! Cyclical learning rates (L. N. Smith, "Cyclical Learning Rates for
//! Training Neural Networks", 2015/2017), with momentum cycled inversely.

use crate::LrScheduler;
use crate::error::{Result, check};

/// How the amplitude of a cycle changes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CyclicMode {
    /// Constant amplitude.
    Triangular,
    /// Halved each cycle.
    Triangular2,
    /// Scaled by γᵗ (t the step).
    ExpRange {
        /// γ.
        gamma: f64,
    },
}

/// PyTorch's `CyclicLR`: the rate rises linearly from `base_lr` to `max_lr`
/// over `step_size_up` steps and falls back over `step_size_down`; with
/// cycle = ⌊1 + t/(up + down)⌋ and x the position in the cycle,
/// η = base + (max − base)·scale(x)·amplitude. Momentum, when cycled, moves
/// the other way between `max_momentum` and `base_momentum`. The group's own
/// base rate is ignored, as in PyTorch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cyclic {
    base_lr: f64,
    max_lr: f64,
    up: usize,
    down: usize,
    mode: CyclicMode,
    momentum: Option<(f64, f64)>,
}

impl Cyclic {
    /// A cycle between `base_lr` and `max_lr` (`step_size_down` defaults to
    /// `step_size_up`), momentum cycled between `(base_momentum, max_momentum)`
    /// when given.
    ///
    /// # Errors
    /// If a rate is negative, `max_lr < base_lr`, a step size is 0, γ is not
    /// positive, or base_momentum > max_momentum.
    pub fn new(
        base_lr: f64,
        max_lr: f64,
        step_size_up: usize,
        step_size_down: Option<usize>,
        mode: CyclicMode,
        momentum: Option<(f64, f64)>,
    ) -> Result<Self> {
        check(base_lr >= 0.0, "cyclic", "base_lr", || format!("must be >= 0, got {base_lr}"))?;
        check(max_lr >= base_lr, "cyclic", "max_lr", || format!("must be >= base_lr ({base_lr}), got {max_lr}"))?;
        check(step_size_up > 0, "cyclic", "step_size_up", || "must be positive, got 0".into())?;
        let down = step_size_down.unwrap_or(step_size_up);
        check(down > 0, "cyclic", "step_size_down", || "must be positive, got 0".into())?;
        if let CyclicMode::ExpRange { gamma } = mode {
            check(gamma > 0.0, "cyclic", "gamma", || format!("must be positive, got {gamma}"))?;
        }
        if let Some((lo, hi)) = momentum {
            check(lo <= hi, "cyclic", "base_momentum", || format!("must be <= max_momentum ({hi}), got {lo}"))?;
        }
        Ok(Self { base_lr, max_lr, up: step_size_up, down, mode, momentum })
    }

    /// (position in the cycle's shape from 0 to 1 and back, amplitude scale) at `step`.
    fn shape(&self, step: usize) -> (f64, f64) {
        let total = (self.up + self.down) as f64;
        let ratio = self.up as f64 / total;
        let cycle = (1.0 + step as f64 / total).floor();
        let x = 1.0 + step as f64 / total - cycle;
        let height = if x <= ratio { x / ratio } else { (x - 1.0) / (ratio - 1.0) };
        let scale = match self.mode {
            CyclicMode::Triangular => 1.0,
            CyclicMode::Triangular2 => 1.0 / 2f64.powf(cycle - 1.0),
            CyclicMode::ExpRange { gamma } => gamma.powi(step as i32),
        };
        (height, scale)
    }

    /// The period in steps.
    pub fn period(&self) -> usize {
        self.up + self.down
    }
}

impl LrScheduler for Cyclic {
    fn lr(&self, _base_lr: f64, step: usize) -> f64 {
        let (height, scale) = self.shape(step);
        self.base_lr + (self.max_lr - self.base_lr) * height * scale
    }

    fn momentum(&self, step: usize) -> Option<f64> {
        let (lo, hi) = self.momentum?;
        let (height, scale) = self.shape(step);
        Some(hi - (hi - lo) * height * scale)
    }
}
