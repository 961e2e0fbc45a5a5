//! The trainer's side of methods that divide by the Hessian's diagonal
//! (Sophia): Hutchinson's estimate on the batch every k steps, handed to
//! the optimiser before the step.

use crate::GradusError;
use crate::hessian::hutchinson_diagonal;
use crate::trainer::Trainer;
use gradus_autodiff::Var;
use gradus_loss::Loss;
use gradus_nn::{Module, Param};
use gradus_optim::{CurvatureKind, Estimate};
use gradus_tensor::{BatchTargets, Float};
use std::collections::BTreeSet;

/// Mixed into the step count to seed each estimate's probe (the trainer's
/// and `gradus trace`'s).
pub const PROBE_SEED: u64 = 0x50_f1a4;

impl<T: Float> Trainer<T> {
    /// Before a step at a step count that is a multiple of the method's k:
    /// Hutchinson's estimate of the Hessian's diagonal on this batch (its
    /// probe seeded by the step count, so a resumed run draws the same),
    /// given to the optimiser for every parameter.
    ///
    /// # Errors
    /// As [`hutchinson_diagonal`], or an optimiser error.
    pub(crate) fn observe_curvature(
        &mut self,
        model: &dyn Module<T>,
        loss: &dyn Loss<T>,
        x: &Var<T>,
        y: &BatchTargets<T>,
        params: &[(String, &Param<T>)],
    ) -> Result<(), GradusError> {
        let Some(request) = self.optim.curvature_request().filter(|r| !r.kind.solves()) else { return Ok(()) };
        if !self.steps.is_multiple_of(request.every) {
            return Ok(());
        }
        if request.kind == CurvatureKind::Kronecker {
            return self.observe_kronecker(model, loss, x, y, params);
        }
        let estimate = hutchinson_diagonal(model, loss, x, y, params, PROBE_SEED ^ self.steps as u64)?;
        let mut seen = BTreeSet::new();
        for ((_, p), e) in params.iter().zip(estimate) {
            if seen.insert(p.id().0) {
                self.hand_over(p, Estimate::HessianDiagonal(&e))?;
            }
        }
        Ok(())
    }

    /// Gives the optimiser parameter `p`'s curvature estimate, at its
    /// current values.
    pub(crate) fn hand_over(&mut self, p: &Param<T>, estimate: Estimate<'_, T>) -> Result<(), GradusError> {
        let value = p.value().contiguous();
        let value = value.as_slice().expect("made contiguous");
        self.optim.observe_curvature(p.id().0, &p.shape(), value, estimate)?;
        Ok(())
    }
}
