//! The one-cycle policy (L. N. Smith, "Super-Convergence", 2018;
//! "A disciplined approach to neural network hyper-parameters", 2018).

use crate::LrScheduler;
use crate::error::{Result, check};
use std::f64::consts::PI;

/// How one-cycle moves between its rates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anneal {
    /// Half a cosine.
    Cos,
    /// A straight line.
    Linear,
}

/// PyTorch's `OneCycleLR`: from `max_lr/div_factor` up to `max_lr` over
/// `pct_start` of `total_steps`, then down to
/// `max_lr/(div_factor·final_div_factor)` (with `three_phase`: back to the
/// start first, then down), momentum cycled inversely between
/// `max_momentum` and `base_momentum`. Past the last step the final rate
/// holds (PyTorch raises an error there). The group's base rate is ignored.
#[derive(Clone, Debug, PartialEq)]
pub struct OneCycle {
    /// (last step of the phase, start lr, end lr, start momentum, end momentum).
    phases: Vec<(f64, f64, f64, f64, f64)>,
    anneal: Anneal,
    cycle_momentum: bool,
    total_steps: usize,
}

/// The options of [`OneCycle`], with PyTorch's defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OneCycleOptions {
    /// Fraction of the steps spent rising (0.3).
    pub pct_start: f64,
    /// Cosine or linear (cosine).
    pub anneal: Anneal,
    /// Cycle momentum inversely (true).
    pub cycle_momentum: bool,
    /// Momentum at the peak rate (0.85).
    pub base_momentum: f64,
    /// Momentum at the ends (0.95).
    pub max_momentum: f64,
    /// Initial rate = max_lr/div_factor (25).
    pub div_factor: f64,
    /// Final rate = initial/final_div_factor (10⁴).
    pub final_div_factor: f64,
    /// Rise, fall to the initial rate, then anneal (false).
    pub three_phase: bool,
}

impl Default for OneCycleOptions {
    fn default() -> Self {
        Self {
            pct_start: 0.3,
            anneal: Anneal::Cos,
            cycle_momentum: true,
            base_momentum: 0.85,
            max_momentum: 0.95,
            div_factor: 25.0,
            final_div_factor: 1e4,
            three_phase: false,
        }
    }
}

impl OneCycle {
    /// One cycle peaking at `max_lr` over `total_steps`.
    ///
    /// # Errors
    /// If `total_steps` is 0, `max_lr` is not positive, `pct_start` is
    /// outside [0, 1], a divisor is not positive, or base_momentum > max_momentum.
    pub fn new(max_lr: f64, total_steps: usize, o: OneCycleOptions) -> Result<Self> {
        check(total_steps > 0, "onecycle", "total_steps", || "must be positive, got 0".into())?;
        check(max_lr > 0.0, "onecycle", "max_lr", || format!("must be positive, got {max_lr}"))?;
        check((0.0..=1.0).contains(&o.pct_start), "onecycle", "pct_start", || {
            format!("must be in [0, 1], got {}", o.pct_start)
        })?;
        check(o.div_factor > 0.0, "onecycle", "div_factor", || format!("must be positive, got {}", o.div_factor))?;
        check(o.final_div_factor > 0.0, "onecycle", "final_div_factor", || {
            format!("must be positive, got {}", o.final_div_factor)
        })?;
        check(o.base_momentum <= o.max_momentum, "onecycle", "base_momentum", || {
            format!("must be <= max_momentum ({}), got {}", o.max_momentum, o.base_momentum)
        })?;
        let initial = max_lr / o.div_factor;
        let min = initial / o.final_div_factor;
        let (lo, hi) = (o.base_momentum, o.max_momentum);
        let up_end = o.pct_start * total_steps as f64 - 1.0;
        let last = total_steps as f64 - 1.0;
        let phases = if o.three_phase {
            vec![
                (up_end, initial, max_lr, hi, lo),
                (2.0 * o.pct_start * total_steps as f64 - 2.0, max_lr, initial, lo, hi),
                (last, initial, min, hi, hi),
            ]
        } else {
            vec![(up_end, initial, max_lr, hi, lo), (last, max_lr, min, lo, hi)]
        };
        Ok(Self { phases, anneal: o.anneal, cycle_momentum: o.cycle_momentum, total_steps })
    }

    /// The number of steps of the cycle.
    pub fn total_steps(&self) -> usize {
        self.total_steps
    }

    fn anneal(&self, start: f64, end: f64, pct: f64) -> f64 {
        match self.anneal {
            Anneal::Cos => end + (start - end) / 2.0 * ((PI * pct).cos() + 1.0),
            Anneal::Linear => (end - start) * pct + start,
        }
    }

    /// (lr, momentum) at `step`, walking the phases as PyTorch does (at
    /// `total_steps`, one past the cycle, the last phase extrapolates as
    /// PyTorch's does; later steps are out of range, see `last_step`, and
    /// give that value).
    fn at(&self, step: usize) -> (f64, f64) {
        let t = step.min(self.total_steps) as f64;
        let i = self.phases.iter().position(|p| t <= p.0).unwrap_or(self.phases.len() - 1);
        let start = if i == 0 { 0.0 } else { self.phases[i - 1].0 };
        let (end, lr0, lr1, m0, m1) = self.phases[i];
        let pct = (t - start) / (end - start);
        (self.anneal(lr0, lr1, pct), self.anneal(m0, m1, pct))
    }
}

impl LrScheduler for OneCycle {
    fn lr(&self, _base_lr: f64, step: usize) -> f64 {
        self.at(step).0
    }

    fn momentum(&self, step: usize) -> Option<f64> {
        self.cycle_momentum.then(|| self.at(step).1)
    }

    fn last_step(&self) -> Option<usize> {
        Some(self.total_steps)
    }
}
