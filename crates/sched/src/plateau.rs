//! Reduce on plateau: the one schedule with state, because it watches a metric.

use crate::error::{Result, check};

/// Whether the watched metric should go down or up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A loss.
    Min,
    /// An accuracy.
    Max,
}

/// How `threshold` measures an improvement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThresholdMode {
    /// Better than best·(1 ∓ threshold).
    Rel,
    /// Better than best ∓ threshold.
    Abs,
}

/// The options of [`ReduceOnPlateau`], with PyTorch's defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlateauOptions {
    /// Min (default) or max.
    pub mode: Mode,
    /// The rate is multiplied by it on a plateau (0.1).
    pub factor: f64,
    /// Epochs without improvement tolerated (10).
    pub patience: usize,
    /// Smallest improvement that counts (1e-4).
    pub threshold: f64,
    /// Relative (default) or absolute threshold.
    pub threshold_mode: ThresholdMode,
    /// Epochs to wait after a reduction before counting again (0).
    pub cooldown: usize,
    /// The rate never goes below it (0).
    pub min_lr: f64,
    /// Reductions smaller than this are skipped (1e-8).
    pub eps: f64,
}

impl Default for PlateauOptions {
    fn default() -> Self {
        Self {
            mode: Mode::Min,
            factor: 0.1,
            patience: 10,
            threshold: 1e-4,
            threshold_mode: ThresholdMode::Rel,
            cooldown: 0,
            min_lr: 0.0,
            eps: 1e-8,
        }
    }
}

/// Everything [`ReduceOnPlateau`] remembers: saving it and restoring it
/// (`ReduceOnPlateau::from_state`) resumes exactly.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlateauState {
    /// The current rate.
    pub lr: f64,
    /// The best metric so far (±∞ before the first).
    pub best: f64,
    /// Epochs since the last improvement.
    pub num_bad_epochs: usize,
    /// Epochs of cooldown left.
    pub cooldown_counter: usize,
    /// Metrics observed.
    pub epochs: usize,
}

/// PyTorch's `ReduceLROnPlateau`: after more than `patience` epochs without
/// an improvement of the metric by `threshold`, the rate is multiplied by
/// `factor` (not below `min_lr`), then `cooldown` epochs pass before bad
/// epochs count again.
///
/// ```
/// use gradus_sched::{PlateauOptions, ReduceOnPlateau};
/// let mut s = ReduceOnPlateau::new(1.0, PlateauOptions { patience: 1, ..Default::default() }).unwrap();
/// let lrs: Vec<f64> = [5.0, 4.0, 4.0, 4.0].iter().map(|&loss| s.observe(loss)).collect();
/// assert_eq!(lrs, vec![1.0, 1.0, 1.0, 0.1]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ReduceOnPlateau {
    options: PlateauOptions,
    state: PlateauState,
}

impl ReduceOnPlateau {
    /// Starting at `lr`.
    ///
    /// # Errors
    /// If `factor` is not in (0, 1), or `threshold`, `min_lr` or `eps` is negative.
    pub fn new(lr: f64, options: PlateauOptions) -> Result<Self> {
        let o = options;
        check(o.factor > 0.0 && o.factor < 1.0, "plateau", "factor", || {
            format!("must be in (0, 1), got {}", o.factor)
        })?;
        check(o.threshold >= 0.0, "plateau", "threshold", || format!("must be >= 0, got {}", o.threshold))?;
        check(o.min_lr >= 0.0, "plateau", "min_lr", || format!("must be >= 0, got {}", o.min_lr))?;
        check(o.eps >= 0.0, "plateau", "eps", || format!("must be >= 0, got {}", o.eps))?;
        let best = if o.mode == Mode::Min { f64::INFINITY } else { f64::NEG_INFINITY };
        Ok(Self { options, state: PlateauState { lr, best, num_bad_epochs: 0, cooldown_counter: 0, epochs: 0 } })
    }

    /// Resumes from a saved state.
    ///
    /// # Errors
    /// As [`ReduceOnPlateau::new`].
    pub fn from_state(options: PlateauOptions, state: PlateauState) -> Result<Self> {
        let mut s = Self::new(state.lr, options)?;
        s.state = state;
        Ok(s)
    }

    /// The current rate.
    pub fn lr(&self) -> f64 {
        self.state.lr
    }

    /// The state, to save.
    pub fn state(&self) -> PlateauState {
        self.state
    }

    /// The options.
    pub fn options(&self) -> PlateauOptions {
        self.options
    }

    fn is_better(&self, a: f64) -> bool {
        let (o, best) = (self.options, self.state.best);
        match (o.mode, o.threshold_mode) {
            (Mode::Min, ThresholdMode::Rel) => a < best * (1.0 - o.threshold),
            (Mode::Min, ThresholdMode::Abs) => a < best - o.threshold,
            (Mode::Max, ThresholdMode::Rel) => a > best * (o.threshold + 1.0),
            (Mode::Max, ThresholdMode::Abs) => a > best + o.threshold,
        }
    }

    /// Observes the epoch's metric and returns the rate for the next epoch.
    /// A NaN metric never counts as an improvement.
    pub fn observe(&mut self, metric: f64) -> f64 {
        self.state.epochs += 1;
        if self.is_better(metric) {
            self.state.best = metric;
            self.state.num_bad_epochs = 0;
        } else {
            self.state.num_bad_epochs += 1;
        }
        if self.state.cooldown_counter > 0 {
            self.state.cooldown_counter -= 1;
            self.state.num_bad_epochs = 0;
        }
        if self.state.num_bad_epochs > self.options.patience {
            let new_lr = (self.state.lr * self.options.factor).max(self.options.min_lr);
            if self.state.lr - new_lr > self.options.eps {
                self.state.lr = new_lr;
            }
            self.state.cooldown_counter = self.options.cooldown;
            self.state.num_bad_epochs = 0;
        }
        self.state.lr
    }
}
