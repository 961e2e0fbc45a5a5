//! gradus-sched: learning-rate schedules as functions of
//! the step, with PyTorch's definitions and values.
//!
//! A schedule is [`LrScheduler::lr`]`(base_lr, step)` — and
//! [`LrScheduler::momentum`]`(step)` where it cycles momentum — with no
//! hidden counter: resuming needs only the step, and a schedule works with
//! gradus's optimisers or anyone's. [`ReduceOnPlateau`] is the one
//! exception: it observes a metric, and its [`PlateauState`] saves and
//! restores exactly. Constructors validate eagerly and name the field.
//!
//! | schedule | η at step t | reference |
//! |---|---|---|
//! | [`Constant`] | η₀ (or η₀·factor for t < total_iters: PyTorch's `ConstantLR`) | |
//! | [`StepDecay`] | η₀·γ^⌊t/s⌋ | `StepLR` |
//! | [`MultiStep`] | η₀·γ^(milestones ≤ t) | `MultiStepLR` |
//! | [`Exponential`] | η₀·γᵗ | `ExponentialLR` |
//! | [`InverseTime`] | η₀/(1 + kt)ᵖ | Robbins & Monro (1951) |
//! | [`Polynomial`] | η₀·(1 − min(t,T)/T)ᵖ | `PolynomialLR` |
//! | [`LinearRamp`] | η₀·(a + (b − a)·min(t,T)/T) | `LinearLR` (warm-up) |
//! | [`Cosine`] | η_min + ½(η₀ − η_min)(1 + cos(πt/T_max)) | `CosineAnnealingLR`; Loshchilov & Hutter, SGDR (2017) |
//! | [`WarmRestarts`] | the cosine over T_i, restarted, T_{i+1} = T_mult·T_i | `CosineAnnealingWarmRestarts`; SGDR |
//! | [`Cyclic`] | triangle between base and max (triangular, triangular2, exp_range); momentum inverse | `CyclicLR`; Smith (2015/2017) |
//! | [`OneCycle`] | warm up to max_lr, anneal far below the start; momentum inverse | `OneCycleLR`; Smith (2018) |
//! | [`ReduceOnPlateau`] | ×factor after `patience` epochs without improvement | `ReduceLROnPlateau` |
//! | [`Phases`] | schedule i after milestone i−1, its step offset | `SequentialLR` |
//! | [`PerGroup`] | one schedule per parameter group | per-group lambdas |
//!
//! # Choosing a schedule
//!
//! - Start with a constant rate found by a short range test (the largest
//!   rate at which the loss still falls), and see whether it plateaus.
//! - For a fixed budget of epochs, cosine annealing (with a few epochs of
//!   linear warm-up for large batches or Adam) is a strong default that
//!   needs no milestones.
//! - Step and multi-step decays reproduce classic papers (divide by 10 at
//!   fixed epochs); reduce-on-plateau does the same adaptively when the
//!   budget is unknown.
//! - One-cycle trains fastest for a known number of steps with SGD and
//!   momentum ("super-convergence"); cyclical rates and warm restarts help
//!   escape sharp regions and give snapshot ensembles.
//! - Inverse-time decay is the textbook condition for SGD's convergence
//!   (Σηₜ = ∞, Σηₜ² < ∞) and what convex theory analyses.
//!
//! Schedules are also written as spec strings ([`parse`]):
//!
//! ```
//! use gradus_sched::{LrScheduler, Schedule, parse};
//! let Schedule::Steps(s) = parse("sequential([linear(start_factor=0.1, total_iters=5), cosine(t_max=95)], milestones=[5])").unwrap()
//! else { unreachable!() };
//! assert!((s.lr(0.1, 0) - 0.01).abs() < 1e-15);
//! assert_eq!(s.lr(0.1, 5), 0.1);
//! ```

mod compose;
mod cosine;
mod cyclic;
mod decay;
mod error;
mod onecycle;
mod piecewise;
mod plateau;
mod spec;

pub use compose::{Chained, PerGroup, Phases};
pub use cosine::{Cosine, WarmRestarts, WarmupCosine};
pub use cyclic::{Cyclic, CyclicMode};
pub use decay::{Constant, Exponential, InverseTime, LinearRamp, MultiStep, Multiplicative, Polynomial, StepDecay};
pub use error::{Result, SchedError};
pub use onecycle::{Anneal, OneCycle, OneCycleOptions};
pub use piecewise::{Interpolate, Piecewise};
pub use plateau::{Mode, PlateauOptions, PlateauState, ReduceOnPlateau, ThresholdMode};
pub use spec::{NAMES, Schedule, from_spec, parse};

/// A learning-rate schedule: a pure function of the step.
pub trait LrScheduler: std::fmt::Debug {
    /// The rate at `step` (0 is the first) for a group whose initial rate is
    /// `base_lr`. Schedules with absolute rates (cyclic, one-cycle) ignore it.
    fn lr(&self, base_lr: f64, step: usize) -> f64;

    /// The momentum at `step`, for schedules that cycle it; `None` leaves
    /// the optimiser's momentum alone.
    fn momentum(&self, step: usize) -> Option<f64> {
        let _ = step;
        None
    }

    /// The last step this schedule defines, for schedules that end
    /// (`onecycle`: `total_steps`, as PyTorch's `OneCycleLR` raises when
    /// stepped past it); `None`, the default, for schedules that go on.
    /// A caller asking for a later step is out of the schedule's range.
    fn last_step(&self) -> Option<usize> {
        None
    }
}
