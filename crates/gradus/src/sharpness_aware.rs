//! SAM's second gradient evaluation (`sam(…)`): the batch's gradient again
//! at θ + e, the ascent step within radius ρ, with the model put back
//! exactly as it was afterwards.

use crate::GradusError;
use crate::gradients::{NotFinite, Step, batch_gradients};
use crate::trainer::Gradient;
use gradus_autodiff::Var;
use gradus_loss::Loss;
use gradus_nn::{Module, Param};
use gradus_optim::Perturbation;
use gradus_tensor::{BatchTargets, Float, Tensor};
use std::collections::BTreeSet;

/// The gradients of the batch at θ + e, where e is `perturbation`'s
/// ascent step from the gradients `at_theta` (of `params`, in
/// `named_parameters` order; a parameter listed twice counts once). The
/// parameters are restored bit for bit afterwards, and so are the buffers
/// (batch norm's running statistics move once a step, on the first
/// evaluation, as in the reference implementation's advice).
///
/// # Errors
/// As [`batch_gradients`].
#[allow(clippy::too_many_arguments)]
pub(crate) fn perturbed_gradients<T: Float>(
    model: &dyn Module<T>,
    loss: &dyn Loss<T>,
    x: &Var<T>,
    y: &BatchTargets<T>,
    params: &[(String, &Param<T>)],
    at_theta: &[Option<Gradient<T>>],
    perturbation: Perturbation,
    accumulate: usize,
) -> Result<Result<Step<T>, NotFinite>, GradusError> {
    let mut seen = BTreeSet::new();
    let mut moved: Vec<(&Param<T>, Tensor<T>, Tensor<T>)> = Vec::new();
    for ((_, p), g) in params.iter().zip(at_theta) {
        if let Some(g) = g
            && seen.insert(p.id().0)
        {
            moved.push((p, p.value().contiguous(), g.tensor.contiguous()));
        }
    }
    let slices = |k: usize| -> Vec<&[T]> {
        moved.iter().map(|m| if k == 0 { &m.1 } else { &m.2 }).map(|t| t.as_slice().expect("made contiguous")).collect()
    };
    let e = perturbation.ascent(&slices(0), &slices(1));
    for ((p, theta, _), e) in moved.iter().zip(e) {
        let shifted = theta.as_slice().expect("made contiguous").iter().zip(e).map(|(&t, e)| t + e).collect();
        p.set(Tensor::from_vec(shifted, theta.shape()).expect("the parameter's shape"));
    }
    let out = crate::averaging::keeping_buffers(model, || batch_gradients(model, loss, x, y, params, accumulate));
    for (p, theta, _) in moved {
        p.set(theta);
    }
    out
}
