//! What the trainer does to a step's gradients before the optimiser sees
//! them: adaptive gradient clipping, global-norm clipping, skipping a step
//! whose gradient is not finite, and accumulation over micro-batches.

use crate::GradusError;
use crate::trainer::Gradient;
use gradus_autodiff::{AutodiffError, Tape, Var};
use gradus_loss::Loss;
use gradus_nn::{Module, Param};
use gradus_tensor::{BatchTargets, Float};
use std::collections::HashMap;

/// The gradient rules of a [`Trainer`](crate::Trainer), each off unless
/// set (`gradus train --clip-grad-agc`, `--clip-grad-norm`,
/// `--skip-nonfinite`, `--accumulate`). Clipping applies in that order:
/// unit-wise first, then the global norm. The `grad_norm:` columns of
/// metrics.csv report the gradients before clipping.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GradientRules {
    /// Adaptive gradient clipping (Brock et al. 2021) with this ratio λ, as
    /// Optax's `adaptive_grad_clip(λ, eps=1e-3)`: see [`adaptive_clip`].
    pub clip_agc: Option<f64>,
    /// Global-norm clipping to this norm, as
    /// `torch.nn.utils.clip_grad_norm_`: every gradient times
    /// min(1, max/(‖g‖ + 10⁻⁶)), ‖g‖ the norm of all of them together.
    pub clip_norm: Option<f64>,
    /// A step whose loss or gradient is not finite is skipped (the
    /// parameters and the optimiser's state stay, the step and the
    /// schedule count it) and counted in the epoch's `skipped`, up to this
    /// many in a row; one more stops the run as a divergence.
    pub skip_nonfinite: Option<usize>,
    /// Micro-batches per step (1: none). A batch of N is split into this
    /// many parts of ⌈N/K⌉ or fewer rows, each forward and backward on its
    /// own, their gradients added weighted by their share of N: the step of
    /// the whole batch to rounding (for models without batch norm, whose
    /// statistics are the micro-batch's), in 1/K of the activations' memory.
    pub accumulate: usize,
}

impl Default for GradientRules {
    fn default() -> Self {
        Self { clip_agc: None, clip_norm: None, skip_nonfinite: None, accumulate: 1 }
    }
}

/// Optax's `eps` of adaptive clipping: the floor of a unit's parameter norm,
/// so that zero-initialised units can still move.
pub const AGC_EPS: f64 = 1e-3;

/// Adaptive gradient clipping of one parameter as Optax's
/// `adaptive_grad_clip(clipping, eps=1e-3)`, in PyTorch's layout: a unit is
/// a row of everything after the first axis (a linear layer's output unit,
/// a convolution's output channel), or the whole tensor for a vector or a
/// scalar (or a tensor with one non-unit axis). Each unit's gradient g is
/// scaled by m/max(‖g‖, 10⁻⁶) where m = λ·max(‖θ‖, ε), unless ‖g‖ < m.
///
/// ```
/// use gradus::adaptive_clip;
/// // Two output units of a 2 × 2 weight: the first's gradient (norm 5) is
/// // above 0.1 of its weights' norm (1), the second's is below.
/// let (w, mut g) = ([1.0f64, 0.0, 0.0, 1.0], [3.0, 4.0, 0.01, 0.0]);
/// adaptive_clip(&w, &[2, 2], &mut g, 0.1);
/// assert!((g[0] - 0.06).abs() < 1e-15 && (g[1] - 0.08).abs() < 1e-15);
/// assert_eq!(&g[2..], &[0.01, 0.0]);
/// ```
///
/// # Panics
/// If the slices are not as long as the shape says.
pub fn adaptive_clip<T: Float>(param: &[T], shape: &[usize], grad: &mut [T], clipping: f64) {
    let n: usize = shape.iter().product();
    assert!(param.len() == n && grad.len() == n, "adaptive_clip: the slices do not have the shape's {n} elements");
    let non_unit = shape.iter().filter(|&&d| d != 1).count();
    let unit = if non_unit <= 1 || shape.len() < 2 { n.max(1) } else { n / shape[0].max(1) };
    if n == 0 {
        return;
    }
    let norm = |x: &[T]| x.iter().fold(T::zero(), |s, &v| s + v * v).sqrt();
    let (clipping, eps, div_eps) = (T::of(clipping), T::of(AGC_EPS), T::of(1e-6));
    for (p, g) in param.chunks(unit).zip(grad.chunks_mut(unit)) {
        let (pn, gn) = (norm(p), norm(g));
        // jnp.maximum, which keeps a NaN.
        let max = clipping * if pn < eps { eps } else { pn };
        // Clipped unless ‖g‖ < m (a NaN norm is clipped, as jnp.where).
        if gn.partial_cmp(&max) != Some(std::cmp::Ordering::Less) {
            let scale = max / if gn < div_eps { div_eps } else { gn };
            g.iter_mut().for_each(|v| *v *= scale);
        }
    }
}

/// The factor global-norm clipping multiplies every gradient by, from the
/// sum of their squares, as `torch.nn.utils.clip_grad_norm_`.
pub(crate) fn clip_coefficient(squares: f64, max_norm: f64) -> f64 {
    (max_norm / (squares.sqrt() + 1e-6)).min(1.0)
}

/// A batch's loss and each parameter's gradient (in `named_parameters`
/// order).
pub(crate) type Step<T> = (f64, Vec<Option<Gradient<T>>>);

/// The loss and gradients of the batch (`x`, `y`), over `accumulate`
/// micro-batches of ⌈N/K⌉ rows whose gradients are added weighted by their
/// share of the batch; or what was not finite.
pub(crate) fn batch_gradients<T: Float>(
    model: &dyn Module<T>,
    loss: &dyn Loss<T>,
    x: &Var<T>,
    y: &BatchTargets<T>,
    params: &[(String, &Param<T>)],
    accumulate: usize,
) -> Result<Result<Step<T>, NotFinite>, GradusError> {
    let rows = y.len();
    let parts = accumulate.min(rows).max(1);
    let outcome = if parts == 1 {
        gradients(model, loss, x, y, params)?
    } else {
        // Micro-batches of ⌈N/K⌉ rows, their gradients added weighted
        // by their share of the batch.
        let (features, size) = (x.value(), rows.div_ceil(parts));
        let mut total: Option<(f64, Vec<Option<Gradient<T>>>)> = None;
        let mut failed = None;
        for start in (0..rows).step_by(size) {
            let len = size.min(rows - start);
            let xs = Var::constant(features.narrow(0, start, len).contiguous());
            let share = len as f64 / rows as f64;
            match gradients(model, loss, &xs, &y.rows(start, len), params)? {
                Err(e) => {
                    failed = Some(e);
                    break;
                }
                Ok((value, grads)) => {
                    let w = T::of(share);
                    let scaled = grads.into_iter().map(|g| g.map(|g| g.tensor.map(|v| v * w)));
                    total = Some(match total.take() {
                        None => (
                            share * value,
                            scaled.map(|g| g.map(|tensor| Gradient { tensor, squares: None })).collect(),
                        ),
                        Some((v, acc)) => (
                            v + share * value,
                            acc.into_iter()
                                .zip(scaled)
                                .map(|(a, g)| match (a, g) {
                                    (Some(a), Some(g)) => Some(Gradient {
                                        tensor: a.tensor.zip_map(&g, "accumulate", |a, b| a + b),
                                        squares: None,
                                    }),
                                    (a, None) => a,
                                    (None, Some(g)) => Some(Gradient { tensor: g, squares: None }),
                                })
                                .collect(),
                        ),
                    });
                }
            }
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(total.expect("a batch has at least one row")),
        }
    };
    Ok(outcome)
}

/// A loss or gradient that is not finite: the loss, what, and the op that
/// made it (in anomaly mode).
pub(crate) struct NotFinite {
    pub(crate) value: f64,
    pub(crate) what: String,
    pub(crate) first_op: Option<String>,
}

/// The loss of `model` on (`x`, `y`) and each parameter's gradient (in
/// `named_parameters` order), or what was not finite.
fn gradients<T: Float>(
    model: &dyn Module<T>,
    loss: &dyn Loss<T>,
    x: &Var<T>,
    y: &BatchTargets<T>,
    params: &[(String, &Param<T>)],
) -> Result<Result<Step<T>, NotFinite>, GradusError> {
    let tape = Tape::new();
    let out = loss.loss(&model.forward(&tape, x), y)?;
    let value = out.value().item().as_f64();
    // A non-finite loss stops the step before it touches the model; in
    // anomaly mode the backward pass names the op that made it. Each
    // parameter's sum of squares is taken as soon as its gradient is
    // final, while the product that wrote it is still in cache.
    let mut squares = HashMap::new();
    let backward = out.backward_hooked(&mut |id, g| {
        if let Some(s) = g.as_slice() {
            squares.insert(id, gradus_tensor::sum_of_squares_f64(s));
        }
    });
    let anomaly = |e: &AutodiffError| matches!(e, AutodiffError::Anomaly { .. }).then(|| e.to_string());
    if !value.is_finite() {
        let first_op = backward.as_ref().err().and_then(anomaly);
        return Ok(Err(NotFinite { value, what: format!("the training loss is {value}"), first_op }));
    }
    let grads = match backward {
        Ok(g) => g,
        Err(e) if anomaly(&e).is_some() => {
            return Ok(Err(NotFinite { value, what: "a gradient is not finite".into(), first_op: anomaly(&e) }));
        }
        Err(e) => return Err(e.into()),
    };
    Ok(Ok((
        value,
        params
            .iter()
            .map(|(_, p)| {
                let id = p.leaf_id(&tape)?;
                Some(Gradient { tensor: grads.get_id(id)?.clone(), squares: squares.get(&id).copied() })
            })
            .collect(),
    )))
}
