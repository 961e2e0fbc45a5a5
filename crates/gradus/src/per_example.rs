//! Per-example gradients of linear and 2-D convolution layers from one
//! backward pass, and the gradient-noise statistics they give (McCandlish
//! et al. 2018, "An empirical model of large-batch training").
//!
//! A layer's weight gradient is a sum over rows: Σᵣ δᵣaᵣᵀ for a linear
//! layer (aᵣ its input row, δᵣ the gradient at its output), Σ over
//! positions of δ times the unfolded input patch for a convolution. The
//! forward pass taps every such op ([`gradus_autodiff::Tap`]): one
//! backward pass to the taps gives every δ, and grouping the rows by
//! example gives each example's term, with no pass per example. Norms of a
//! linear layer's terms need not form them: ‖Σᵣ δᵣaᵣᵀ‖² = Σᵣₛ (δᵣ·δₛ)(aᵣ·aₛ)
//! over an example's rows (Goodfellow 2015, and its Gram form for
//! sequences).

use crate::GradusError;
use gradus_autodiff::{GradOptions, Tap, TapKind, Tape, Var, grad};
use gradus_loss::Loss;
use gradus_nn::{Module, Param};
use gradus_tensor::{BatchTargets, Float, Tensor};
use std::collections::BTreeSet;

/// Each example's gradient of the parameters that linear and 2-D
/// convolution layers use, from one backward pass
/// ([`per_example_gradients`]).
#[derive(Clone, Debug)]
pub struct PerExampleGradients<T: Float> {
    /// The batch's loss.
    pub loss: f64,
    /// (checkpoint name, `[N, …shape]`) for every parameter covered, in
    /// `named_parameters` order: row n is example n's gradient.
    pub gradients: Vec<(String, Tensor<T>)>,
    /// The parameters no tapped op uses (normalisation scales,
    /// embeddings, frozen ones), by name.
    pub uncovered: Vec<String>,
}

/// The spread of a batch's per-example gradients: what the gradient noise
/// scale and the mini-batch gradient's variance are estimated from
/// ([`gradient_noise`]). Over the parameters of linear and 2-D convolution
/// layers.
#[derive(Clone, Debug, PartialEq)]
pub struct GradientNoise {
    /// The batch's loss.
    pub loss: f64,
    /// Each example's gradient norm ‖gₙ‖.
    pub norms: Vec<f64>,
    /// ‖ḡ‖², the squared norm of the batch's mean gradient.
    pub mean_square_norm: f64,
}

impl GradientNoise {
    /// The batch size B.
    pub fn batch(&self) -> usize {
        self.norms.len()
    }

    /// tr Σ, the trace of one example's gradient covariance, unbiased:
    /// (B/(B − 1))·(mean ‖gₙ‖² − ‖ḡ‖²). NaN for a batch of one.
    pub fn trace_covariance(&self) -> f64 {
        let b = self.batch() as f64;
        let mean_sq = self.norms.iter().map(|n| n * n).sum::<f64>() / b;
        if self.batch() < 2 { f64::NAN } else { b / (b - 1.0) * (mean_sq - self.mean_square_norm) }
    }

    /// |G|², the true gradient's squared norm, unbiased: ‖ḡ‖² − tr Σ / B
    /// (it can come out negative on a small batch when the signal is weak).
    pub fn true_square_norm(&self) -> f64 {
        self.mean_square_norm - self.trace_covariance() / self.batch() as f64
    }

    /// The mini-batch gradient's variance, E‖ḡ − G‖² = tr Σ / B.
    pub fn batch_variance(&self) -> f64 {
        self.trace_covariance() / self.batch() as f64
    }

    /// The simple noise scale B_simple = tr Σ / |G|² of one batch. Noisy:
    /// McCandlish et al. average the numerator and the denominator over
    /// many batches before dividing, as `gradus train --noise-scale-every`
    /// does over an epoch.
    pub fn noise_scale(&self) -> f64 {
        self.trace_covariance() / self.true_square_norm()
    }
}

/// A tapped op with the gradient at its output, scaled by the batch size
/// so that each example's term is its own gradient (for a loss that
/// averages over the batch), and the parameters it uses.
struct Layer<T: Float> {
    tap: Tap<T>,
    delta: Tensor<T>,
    weight: Option<usize>,
    bias: Option<usize>,
}

/// One forward pass with taps and one backward pass to them.
struct Tapped<'p, T: Float> {
    loss: f64,
    batch: usize,
    layers: Vec<Layer<T>>,
    /// The parameters, each once (a shared module lists one twice).
    params: Vec<(String, &'p Param<T>)>,
}

/// A forward pass of `model` on a tapping tape: its output, and each tap
/// whose weight is one of `params` with the indices (into `params`) of its
/// weight and bias.
pub(crate) struct TappedForward<T: Float> {
    pub(crate) output: Var<T>,
    pub(crate) taps: Vec<(Tap<T>, usize, Option<usize>)>,
}

/// `params` each once (a shared module lists one twice).
pub(crate) fn distinct<'p, T: Float>(params: &[(String, &'p Param<T>)]) -> Vec<(String, &'p Param<T>)> {
    let mut seen = BTreeSet::new();
    params.iter().filter(|(_, p)| seen.insert(p.id().0)).cloned().collect()
}

pub(crate) fn tapped_forward<T: Float>(
    model: &dyn Module<T>,
    x: &Var<T>,
    params: &[(String, &Param<T>)],
) -> TappedForward<T> {
    let tape = Tape::new();
    tape.start_taps();
    let output = model.forward(&tape, x);
    let ids: Vec<_> = params.iter().map(|(_, p)| tape.keyed(p.id().0).and_then(|v| v.id())).collect();
    let which = |id: Option<gradus_autodiff::VarId>| id.and_then(|id| ids.iter().position(|&k| k == Some(id)));
    let taps = tape.taps().into_iter().filter_map(|t| Some((which(t.weight)?, which(t.bias), t)));
    let taps = taps.map(|(w, b, t)| (t, w, b)).collect();
    TappedForward { output, taps }
}

fn tapped<'p, T: Float>(
    model: &dyn Module<T>,
    loss: &dyn Loss<T>,
    x: &Var<T>,
    y: &BatchTargets<T>,
    params: &[(String, &'p Param<T>)],
) -> Result<Tapped<'p, T>, GradusError> {
    let params = distinct(params);
    let f = tapped_forward(model, x, &params);
    let out = loss.loss(&f.output, y)?;
    let value = out.value().item().as_f64();
    let batch = y.len();
    let probes: Vec<&Var<T>> = f.taps.iter().map(|t| &t.0.probe).collect();
    let options = GradOptions { allow_unused: true, ..Default::default() };
    let deltas = if probes.is_empty() { Vec::new() } else { grad(&[&out], None, &probes, options)? };
    let scale = T::of(batch as f64);
    let layers = f
        .taps
        .into_iter()
        .zip(deltas)
        .map(|((tap, weight, bias), d)| {
            let delta = d.map_or_else(|| Tensor::zeros(tap.probe.shape()), |d| d.value().map(|v| v * scale));
            Layer { tap, delta, weight: Some(weight), bias }
        })
        .collect();
    Ok(Tapped { loss: value, batch, layers, params })
}

/// `[R, f]` rows as `[N, R/N, f]`.
pub(crate) fn by_example<T: Float>(rows: &Tensor<T>, n: usize) -> Tensor<T> {
    let f = *rows.shape().last().expect("a matrix") as isize;
    rows.contiguous().reshape(&[n as isize, -1, f])
}

impl<T: Float> Layer<T> {
    /// Each example's gradient of the weight, `[N, …weight shape]`.
    fn weight_terms(&self, n: usize) -> Result<Tensor<T>, GradusError> {
        Ok(match self.tap.kind {
            TapKind::Linear => by_example(&self.delta, n).t().matmul(&by_example(&self.tap.input, n)),
            TapKind::Conv2d { geometry, kernel } => {
                self.tap.input.try_conv2d_weight_grad_per_example(&self.delta, geometry, kernel).map_err(to_error)?
            }
        })
    }

    /// Each example's gradient of the bias, `[N, out]`.
    fn bias_terms(&self, n: usize) -> Tensor<T> {
        match self.tap.kind {
            TapKind::Linear => by_example(&self.delta, n).sum(1, false),
            TapKind::Conv2d { .. } => {
                let s = self.delta.shape();
                self.delta.contiguous().reshape(&[s[0] as isize, s[1] as isize, -1]).sum(2, false)
            }
        }
    }
}

fn to_error(e: gradus_tensor::TensorError) -> GradusError {
    GradusError::Autodiff(gradus_autodiff::AutodiffError::from(e))
}

/// Each example's gradient of every parameter of the model's linear and
/// 2-D convolution layers (those ops' weights and biases, wherever they
/// are used: a weight used by two layers gets the sum), from one forward
/// and one backward pass. Row n is the gradient of example n's own loss
/// when the loss averages over the batch (every loss `gradus train`
/// builds; a sequence's loss averaged over its positions too), so the
/// rows' mean is the batch's gradient. With batch norm in training mode
/// the rows are each example's term of the batch's gradient (the examples
/// are not independent there).
///
/// ```
/// use gradus::per_example::per_example_gradients;
/// use gradus::prelude::*;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let model = Mlp::new(&[3, 4, 2]).build::<f64, _>(&mut rng);
/// let x = Var::constant(Tensor::from_vec((0..6).map(|i| i as f64 / 6.0).collect(), &[2, 3]).unwrap());
/// let y = BatchTargets::Classes(Tensor::from_vec(vec![0usize, 1], &[2]).unwrap());
/// let each = per_example_gradients(&model, &CrossEntropy::default(), &x, &y).unwrap();
/// assert_eq!(each.gradients[0].1.shape(), [2, 4, 3]); // two examples of a [4, 3] weight
/// assert!(each.uncovered.is_empty());
/// ```
///
/// # Errors
/// A loss that does not take these targets, or a failed backward pass.
pub fn per_example_gradients<T: Float>(
    model: &dyn Module<T>,
    loss: &dyn Loss<T>,
    x: &Var<T>,
    y: &BatchTargets<T>,
) -> Result<PerExampleGradients<T>, GradusError> {
    let named = model.named_parameters();
    let t = tapped(model, loss, x, y, &named)?;
    let mut sums: Vec<Option<Tensor<T>>> = vec![None; t.params.len()];
    let add = |slot: &mut Option<Tensor<T>>, term: Tensor<T>| {
        *slot = Some(match slot.take() {
            Some(s) => s.zip_map(&term, "per-example sum", |a, b| a + b),
            None => term,
        })
    };
    for layer in &t.layers {
        if let Some(w) = layer.weight {
            add(&mut sums[w], layer.weight_terms(t.batch)?);
        }
        if let Some(b) = layer.bias {
            add(&mut sums[b], layer.bias_terms(t.batch));
        }
    }
    let mut gradients = Vec::new();
    let mut uncovered = Vec::new();
    for ((name, _), sum) in t.params.into_iter().zip(sums) {
        match sum {
            Some(g) => gradients.push((name, g)),
            None => uncovered.push(name),
        }
    }
    Ok(PerExampleGradients { loss: t.loss, gradients, uncovered })
}

/// Each example's gradient norm and the batch gradient's squared norm over
/// the parameters [`per_example_gradients`] covers, without forming a
/// linear layer's per-example gradients: its examples' squared norms are
/// Σᵣₛ (δᵣ·δₛ)(aᵣ·aₛ) over each example's rows (one row each for a plain
/// batch: ‖δ‖²‖a‖²). A convolution's are formed, one image at a time on
/// the pool.
///
/// # Errors
/// As [`per_example_gradients`].
pub fn gradient_noise<T: Float>(
    model: &dyn Module<T>,
    loss: &dyn Loss<T>,
    x: &Var<T>,
    y: &BatchTargets<T>,
) -> Result<GradientNoise, GradusError> {
    let named = model.named_parameters();
    let t = tapped(model, loss, x, y, &named)?;
    let n = t.batch;
    // Per parameter: the linear rows of its uses (Σ over uses of δᵀa is the
    // product of the rows stacked), or its formed per-example terms.
    let mut rows: Vec<Rows<T>> = vec![(Vec::new(), Vec::new()); t.params.len()];
    let mut formed: Vec<Option<Tensor<T>>> = vec![None; t.params.len()];
    let mut add = |k: usize, term: Tensor<T>| {
        formed[k] = Some(match formed[k].take() {
            Some(s) => s.zip_map(&term, "per-example sum", |a, b| a + b),
            None => term,
        })
    };
    for layer in &t.layers {
        if let Some(w) = layer.weight {
            match layer.tap.kind {
                TapKind::Linear => {
                    rows[w].0.push(by_example(&layer.delta, n));
                    rows[w].1.push(by_example(&layer.tap.input, n));
                }
                TapKind::Conv2d { .. } => add(w, layer.weight_terms(n)?),
            }
        }
        if let Some(b) = layer.bias {
            add(b, layer.bias_terms(n));
        }
    }
    let mut squares = vec![0.0f64; n];
    let mut mean_square_norm = 0.0;
    for (deltas, inputs) in rows.into_iter().filter(|(d, _)| !d.is_empty()) {
        let (d, a) = (Tensor::concat(&deltas, 1), Tensor::concat(&inputs, 1));
        let gram = |m: &Tensor<T>| m.matmul(&m.t());
        let each = gram(&d).zip_map(&gram(&a), "gram product", |p, q| p * q).sum(vec![1usize, 2], false);
        each.to_vec().iter().zip(&mut squares).for_each(|(v, s)| *s += v.as_f64());
        let mean = d.reshape(&[-1, d.shape()[2] as isize]).t().matmul(&a.reshape(&[-1, a.shape()[2] as isize]));
        mean_square_norm += sum_sq(&mean) / (n * n) as f64;
    }
    for terms in formed.into_iter().flatten() {
        let per = terms.numel() / n.max(1);
        let values = terms.contiguous().to_vec();
        let mut mean = vec![0.0f64; per];
        for (row, s) in values.chunks(per.max(1)).zip(&mut squares) {
            *s += row.iter().map(|v| v.as_f64() * v.as_f64()).sum::<f64>();
            mean.iter_mut().zip(row).for_each(|(m, v)| *m += v.as_f64() / n as f64);
        }
        mean_square_norm += mean.iter().map(|m| m * m).sum::<f64>();
    }
    Ok(GradientNoise { loss: t.loss, norms: squares.into_iter().map(f64::sqrt).collect(), mean_square_norm })
}

/// A linear weight's uses: their output gradients and inputs, by example.
type Rows<T> = (Vec<Tensor<T>>, Vec<Tensor<T>>);

fn sum_sq<T: Float>(t: &Tensor<T>) -> f64 {
    t.contiguous().to_vec().iter().map(|v| v.as_f64() * v.as_f64()).sum()
}
