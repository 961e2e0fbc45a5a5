//! K-FAC's Kronecker factors on a batch (Martens & Grosse 2015; Grosse &
//! Martens 2016 for convolutions), and the trainer's side of `kfac`: the
//! factors handed to the optimiser every `update_freq` steps.
//!
//! For a layer with input rows aᵣ (a convolution's unfolded patches) and
//! T rows per example, A = (1/N)·Σᵣ aᵣaᵣᵀ over the batch's N examples, and
//! G = (1/T)·Σᵣ E(δᵣδᵣᵀ), δᵣ the gradient at the layer's output under the
//! model's own predictive distribution. The expectation is taken exactly
//! when the network has few outputs: with Sₙ a square root of each output
//! row's loss Hessian (SₙSₙᵀ = H), one backward pass per column of S gives
//! δ's whose outer products sum to the expectation. With many outputs
//! (a byte-level text model's 256) one label per row is drawn from the
//! model instead (the Monte-Carlo Fisher, as the paper). G ⊗ A is then the
//! layer's block of the Gauss–Newton matrix whenever the inputs and the
//! output curvature are uncorrelated: exactly for one linear layer under
//! squared error (tested).

use crate::GradusError;
use crate::per_example::{distinct, tapped_forward};
use crate::trainer::Trainer;
use gradus_autodiff::{GradOptions, TapKind, Tape, Var, grad};
use gradus_loss::Loss;
use gradus_nn::{Module, Param};
use gradus_optim::Estimate;
use gradus_tensor::{BatchTargets, Float, Tensor};

/// Outputs up to this width get the exact expectation (a backward pass
/// per output) in training; wider ones one sampled label per row.
pub const EXACT_OUTPUTS: usize = 32;

/// How G's expectation over the model's predictions is taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expectation {
    /// Exactly: a backward pass per column of a square root of each
    /// output row's loss Hessian.
    Exact,
    /// From one label per output row drawn from the model's softmax with
    /// this seed (class targets only).
    Sampled {
        /// The draws' seed.
        seed: u64,
    },
    /// What `kfac` uses: exact for outputs up to [`EXACT_OUTPUTS`] wide,
    /// sampled with `seed` beyond.
    ByWidth {
        /// The draws' seed, if drawn.
        seed: u64,
    },
}

/// One parameter's Kronecker factors ([`kronecker_factors`]).
#[derive(Clone, Debug)]
pub struct KroneckerFactors<T: Float> {
    /// The parameter's checkpoint name.
    pub name: String,
    /// The input-side factor, `[rest, rest]` for the parameter read as
    /// `[out, rest]` (a bias: `[1, 1]`, the rows per example).
    pub a: Tensor<T>,
    /// The output-side factor, `[out, out]`.
    pub g: Tensor<T>,
}

/// The Kronecker factors of every parameter of the model's linear and
/// 2-D convolution layers (one group; a weight used by one layer only) on
/// the batch (`x`, `y`), in `named_parameters` order, G's expectation
/// taken as `expectation` says. The forward pass runs in the model's
/// current mode.
///
/// # Errors
/// A loss that does not take these targets, a failed backward pass, or a
/// sampled expectation with targets other than classes.
pub fn kronecker_factors<T: Float>(
    model: &dyn Module<T>,
    loss: &dyn Loss<T>,
    x: &Var<T>,
    y: &BatchTargets<T>,
    expectation: Expectation,
) -> Result<Vec<KroneckerFactors<T>>, GradusError> {
    let params = distinct(&model.named_parameters());
    let f = tapped_forward(model, x, &params);
    // A parameter two ops use has no Kronecker block of its own.
    let uses = |k: usize| f.taps.iter().filter(|(_, w, b)| *w == k || *b == Some(k)).count();
    let taps: Vec<_> = f
        .taps
        .iter()
        .filter(|(t, w, b)| {
            let one_group = !matches!(t.kind, TapKind::Conv2d { geometry, .. } if geometry.groups != 1);
            one_group && uses(*w) == 1 && b.is_none_or(|b| uses(b) == 1)
        })
        .collect();
    if taps.is_empty() {
        return Ok(Vec::new());
    }
    let n = y.len();
    let probes: Vec<&Var<T>> = taps.iter().map(|(t, _, _)| &t.probe).collect();
    // Σ over passes of each tap's δᵀδ (out × out), with the pass's weight.
    let mut gsum: Vec<Option<Tensor<T>>> = vec![None; taps.len()];
    let mut add = |deltas: Vec<Option<Var<T>>>, scale: f64| {
        for ((slot, d), (tap, _, _)) in gsum.iter_mut().zip(deltas).zip(&taps) {
            let Some(d) = d else { continue };
            let rows = output_rows(tap.kind, d.value());
            let outer = rows.t().matmul(&rows).map(|v| v * T::of(scale));
            *slot = Some(match slot.take() {
                Some(s) => s.zip_map(&outer, "G", |a, b| a + b),
                None => outer,
            });
        }
    };
    let output = &f.output;
    let width = *output.shape().last().unwrap_or(&1);
    let options = GradOptions { retain_graph: true, allow_unused: true, ..Default::default() };
    let drawn = match expectation {
        Expectation::Exact => None,
        Expectation::Sampled { seed } => Some(seed),
        Expectation::ByWidth { seed } => (width > EXACT_OUTPUTS).then_some(seed),
    };
    match drawn {
        None => {
            for column in root_columns(loss, output.value(), y)? {
                add(grad(&[output], Some(&[column]), &probes, options)?, 1.0);
            }
        }
        Some(seed) => {
            if !matches!(y, BatchTargets::Classes(_)) {
                return Err(GradusError::Config(format!(
                    "kfac: labels can be drawn from the model only for class targets, and outputs of width {width} are more than the {EXACT_OUTPUTS} whose expectation is taken exactly"
                )));
            }
            let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed);
            let labels = crate::hessian::sample_labels(output.value(), &mut rng);
            let sampled = loss.loss(output, &labels)?;
            let rows_out = output.value().numel() / width.max(1);
            add(grad(&[&sampled], None, &probes, options)?, rows_out as f64);
        }
    }
    let mut out = Vec::new();
    for ((tap, w, b), g) in taps.iter().zip(gsum) {
        let per_example = tap_rows(tap.kind, &tap.probe) as f64 / n as f64;
        // Both kinds keep the output's features on axis 1.
        let g = g.unwrap_or_else(|| Tensor::zeros(&[tap.probe.shape()[1]; 2]));
        let g = g.map(|v| v / T::of(per_example));
        let a = match tap.kind {
            TapKind::Linear => tap.input.t().matmul(&tap.input),
            TapKind::Conv2d { geometry, kernel } => {
                tap.input.try_conv2d_patch_gram(geometry, kernel).map_err(to_error)?
            }
        };
        let a = a.map(|v| v / T::of(n as f64));
        out.push((*w, KroneckerFactors { name: params[*w].0.clone(), a, g: g.clone() }));
        if let Some(b) = b {
            let a = Tensor::from_vec(vec![T::of(per_example)], &[1, 1]).expect("1 × 1");
            out.push((*b, KroneckerFactors { name: params[*b].0.clone(), a, g }));
        }
    }
    out.sort_by_key(|(k, _)| *k);
    Ok(out.into_iter().map(|(_, f)| f).collect())
}

fn to_error(e: gradus_tensor::TensorError) -> GradusError {
    GradusError::Autodiff(gradus_autodiff::AutodiffError::from(e))
}

/// The rows a tap's output gradient stands for: `[R, out]` for a linear
/// layer, `[N·H·W, C]` for a convolution (each position a row).
fn output_rows<T: Float>(kind: TapKind, d: &Tensor<T>) -> Tensor<T> {
    match kind {
        TapKind::Linear => d.clone(),
        TapKind::Conv2d { .. } => {
            let s = d.shape();
            d.contiguous()
                .reshape(&[s[0] as isize, s[1] as isize, -1])
                .transpose(1, 2)
                .contiguous()
                .reshape(&[-1, s[1] as isize])
        }
    }
}

/// The number of output rows of a tap (positions of every example).
fn tap_rows<T: Float>(kind: TapKind, probe: &Var<T>) -> usize {
    let s = probe.shape();
    match kind {
        TapKind::Linear => s[0],
        TapKind::Conv2d { .. } => s[0] * s[2] * s[3],
    }
}

/// The columns of a square root of each output row's loss Hessian, as
/// output gradients: column k holds row r's Sᵣeₖ in row r (SᵣSᵣᵀ = Hᵣ,
/// the Hessian of the batch's loss in that row, from its eigenvectors with
/// negative eigenvalues, which only rounding makes, left out).
fn root_columns<T: Float>(
    loss: &dyn Loss<T>,
    output: &Tensor<T>,
    y: &BatchTargets<T>,
) -> Result<Vec<Tensor<T>>, GradusError> {
    let shape = output.shape().to_vec();
    let width = *shape.last().unwrap_or(&1);
    let rows = output.numel() / width.max(1);
    let tape = Tape::new();
    let leaf = tape.leaf(output.contiguous());
    let value = loss.loss(&leaf, y)?;
    let create = GradOptions { create_graph: true, ..Default::default() };
    let g = grad(&[&value], None, &[&leaf], create)?.remove(0).expect("the loss uses the outputs");
    // Column k of every row's Hessian at once: the rows do not interact.
    let mut h = vec![0.0f64; rows * width * width];
    for k in 0..width {
        let mut e = vec![T::zero(); rows * width];
        e.iter_mut().skip(k).step_by(width).for_each(|v| *v = T::one());
        let e = Tensor::from_vec(e, &shape).expect("the outputs' shape");
        let keep = GradOptions { retain_graph: true, allow_unused: true, ..Default::default() };
        let hk = grad(&[&g], Some(&[e]), &[&leaf], keep)?.remove(0);
        let hk = hk.map_or_else(|| vec![T::zero(); rows * width], |v| v.value().contiguous().to_vec());
        for r in 0..rows {
            for i in 0..width {
                h[(r * width + i) * width + k] = hk[r * width + i].as_f64();
            }
        }
    }
    let mut columns = vec![vec![T::zero(); rows * width]; width];
    for r in 0..rows {
        let hr =
            Tensor::from_vec(h[r * width * width..(r + 1) * width * width].to_vec(), &[width, width]).expect("w × w");
        let (values, vectors) = hr.eigh().map_err(to_error)?;
        let (values, vectors) = (values.to_vec(), vectors.contiguous().to_vec());
        for (k, column) in columns.iter_mut().enumerate() {
            let root = values[k].max(0.0).sqrt();
            for i in 0..width {
                column[r * width + i] = T::of(vectors[i * width + k] * root);
            }
        }
    }
    Ok(columns.into_iter().map(|c| Tensor::from_vec(c, &shape).expect("the outputs' shape")).collect())
}

impl<T: Float> Trainer<T> {
    /// Before a step at a multiple of K-FAC's `update_freq`: the batch's
    /// Kronecker factors (training mode, batch norm's statistics and
    /// dropout's mask count put back), handed to the optimiser.
    ///
    /// # Errors
    /// As [`kronecker_factors`], or an optimiser error.
    pub(crate) fn observe_kronecker(
        &mut self,
        model: &dyn Module<T>,
        loss: &dyn Loss<T>,
        x: &Var<T>,
        y: &BatchTargets<T>,
        params: &[(String, &Param<T>)],
    ) -> Result<(), GradusError> {
        let seed = crate::PROBE_SEED ^ self.steps as u64;
        let expectation = Expectation::ByWidth { seed };
        let factors = crate::averaging::unobserved(model, || kronecker_factors(model, loss, x, y, expectation))?;
        for f in factors {
            let Some((_, p)) = params.iter().find(|(n, _)| *n == f.name) else { continue };
            let (a, g) = (f.a.contiguous(), f.g.contiguous());
            let (a, g) = (a.as_slice().expect("contiguous"), g.as_slice().expect("contiguous"));
            self.hand_over(p, Estimate::Kronecker { a, g })?;
        }
        Ok(())
    }
}
