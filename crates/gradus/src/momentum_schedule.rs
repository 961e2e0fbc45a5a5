//! A schedule of the optimiser's momentum (`--schedule-momentum`): any
//! step schedule driving SGD's momentum or the Adam family's β₁, as
//! Optax's `inject_hyperparams` does for any hyper-parameter.

use crate::GradusError;
use crate::trainer::{Driven, Every, Trainer};
use gradus_sched::Schedule;
use gradus_tensor::Float;

impl<T: Float> Trainer<T> {
    /// Drives every group's momentum (SGD's `momentum`, the Adam family's
    /// β₁, whatever [`UpdateRule::momentum`](gradus_optim::UpdateRule::momentum)
    /// names) with a step schedule, advanced per batch or per epoch: its
    /// values are factors on the momentum each group's optimiser was built
    /// with, as a rate schedule's are on the rate. A step whose momentum
    /// would leave [0, 1] is refused before it is taken.
    ///
    /// ```
    /// # use gradus::prelude::*;
    /// let optimizer = Optimizer::boxed(gradus::optim::parse("adam(lr=1e-3, betas=(0.9,0.999))").unwrap());
    /// let warm = gradus::sched::parse("linear(start_factor=0.5, total_iters=4)").unwrap();
    /// let trainer = Trainer::<f32>::new(optimizer).with_momentum_schedule(warm, Every::Batch).unwrap();
    /// assert_eq!(trainer.optim().groups()[0].rule.momentum(), Some(0.45)); // β₁ = 0.9 × 0.5 at step 0
    /// ```
    ///
    /// # Errors
    /// [`GradusError::Config`] for reduce-on-plateau, an optimiser without
    /// a momentum, or a rate schedule that drives the momentum itself
    /// (one-cycle, cyclic).
    pub fn with_momentum_schedule(mut self, schedule: Schedule, every: Every) -> Result<Self, GradusError> {
        let Schedule::Steps(s) = schedule else {
            return Err(GradusError::Config(
                "a momentum schedule is a step schedule; plateau watches the loss and drives the rate only".into(),
            ));
        };
        if let Some(Driven::Steps(rate, _)) = &self.schedule
            && rate.momentum(0).is_some()
        {
            return Err(GradusError::Config(
                "the rate's schedule drives the momentum already (one-cycle or cyclic with cycle_momentum)".into(),
            ));
        }
        let mut bases = Vec::new();
        for g in self.optim.groups() {
            let m = g.rule.momentum().ok_or_else(|| {
                GradusError::Config(format!("{} has no momentum for a schedule to drive", g.rule.name()))
            })?;
            bases.push(m);
        }
        self.momentum_schedule = Some((s, every, bases));
        self.check_momentum_range(every)?;
        self.apply_schedule();
        Ok(self)
    }

    /// The momentum schedule's value now and for the next step of `unit`,
    /// refused outside [0, 1].
    pub(crate) fn check_momentum_range(&self, unit: Every) -> Result<(), GradusError> {
        let Some((s, every, bases)) = &self.momentum_schedule else { return Ok(()) };
        let now = if *every == Every::Batch { self.steps } else { self.epochs };
        let next = if *every == unit { now + 1 } else { now };
        for (t, &m0) in [now, next].into_iter().flat_map(|t| bases.iter().map(move |m| (t, m))) {
            let m = s.lr(m0, t);
            if !(0.0..=1.0).contains(&m) {
                return Err(GradusError::Config(format!(
                    "the momentum schedule gives momentum {m} at {} {t}; momentum must be in [0, 1]",
                    if *every == Every::Batch { "step" } else { "epoch" }
                )));
            }
        }
        Ok(())
    }
}
