//! Normalisation over chosen axes: `normalize`, (x − mean)/√(var + ε) with
//! the biased variance (the statistics of layer, group, instance and batch
//! norm), and `rms_normalize`, x/√(mean x² + ε) (RMSNorm's). Both are
//! composites of reductions and element-wise ops, so their second
//! derivatives need no rule of their own. `batch_norm` is batch
//! normalisation with the batch's statistics and the affine step as one
//! op: fused per-channel passes forward and, when the backward pass is not
//! recorded, backward; its recorded rule is the same formula in `Var` ops.

use crate::{Var, is_recording};
use gradus_tensor::{Axes, Float, Tensor};

impl<T: Float> Var<T> {
    /// (x − μ)/√(σ² + ε), with μ and the biased σ² taken over `axes` (kept
    /// for broadcasting): PyTorch's `layer_norm`/`group_norm`/`instance_norm`
    /// before the affine step.
    ///
    /// ```
    /// use gradus_autodiff::Var;
    /// use gradus_tensor::Tensor;
    /// let x = Var::constant(Tensor::from_vec(vec![1.0, 3.0, 2.0, 6.0], &[2, 2]).unwrap());
    /// // Each row's mean removed, divided by its standard deviation (1 and 2).
    /// assert_eq!(x.normalize(1, 0.0).value().to_vec(), [-1.0, 1.0, -1.0, 1.0]);
    /// ```
    ///
    /// # Panics
    /// If an axis is out of range or repeated.
    #[track_caller]
    pub fn normalize(&self, axes: impl Into<Axes>, eps: f64) -> Self {
        let axes = axes.into();
        let centred = self.sub(&self.mean(axes.clone(), true));
        let var = centred.square().mean(axes, true);
        centred.div(&var.add_scalar(T::of(eps)).sqrt())
    }

    /// x/√(mean(x²) + ε), the mean over `axes` (kept for broadcasting):
    /// PyTorch's `rms_norm` before the scale.
    ///
    /// ```
    /// use gradus_autodiff::Var;
    /// use gradus_tensor::Tensor;
    /// let x = Var::constant(Tensor::from_vec(vec![3.0, 4.0], &[1, 2]).unwrap());
    /// let rms = 12.5f64.sqrt();
    /// assert_eq!(x.rms_normalize(-1, 0.0).value().to_vec(), [3.0 / rms, 4.0 / rms]);
    /// ```
    ///
    /// # Panics
    /// If an axis is out of range or repeated.
    #[track_caller]
    pub fn rms_normalize(&self, axes: impl Into<Axes>, eps: f64) -> Self {
        let ms = self.square().mean(axes, true);
        self.div(&ms.add_scalar(T::of(eps)).sqrt())
    }

    /// Batch normalisation of `[N, C, L]` in training, as PyTorch's
    /// `batch_norm(training=True)`: y = (x − μ_c)/√(σ²_c + ε)·weight\[c\] +
    /// bias\[c\] with each channel's mean and biased variance over its `N·L`
    /// values (weight and bias `[C]`, or absent: 1 and 0). Returns y and the
    /// statistics (`[C]` each, for the running averages).
    ///
    /// The forward pass is three passes over x (two for the statistics, one
    /// for y); an unrecorded backward pass is two (the sums Σg and
    /// Σg·(x − μ) per channel, then the input gradient). A recorded one
    /// (`create_graph`) writes the same gradient in `Var` ops, so second
    /// derivatives work; the two agree to rounding
    /// (`tests/batch_norm_paths.rs`).
    ///
    /// ```
    /// use gradus_autodiff::{Tape, Var};
    /// use gradus_tensor::Tensor;
    /// let tape = Tape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![1.0f64, 3.0, 10.0, 30.0], &[2, 2, 1]).unwrap());
    /// let (y, mean, var) = x.batch_norm(None, None, 0.0);
    /// let y = y.value().to_vec();
    /// assert!(y.iter().zip([-1.0, -1.0, 1.0, 1.0]).all(|(a, b)| (a - b).abs() < 1e-15));
    /// assert_eq!((mean.to_vec(), var.to_vec()), (vec![5.5, 16.5], vec![20.25, 182.25]));
    /// ```
    ///
    /// # Panics
    /// If `self` is not 3-D, or weight or bias is not `[C]`.
    #[track_caller]
    pub fn batch_norm(&self, weight: Option<&Self>, bias: Option<&Self>, eps: f64) -> (Self, Tensor<T>, Tensor<T>) {
        let c = match self.shape() {
            &[_, c, _] => c,
            other => panic!("batch_norm: expected [N, C, L], got {other:?}"),
        };
        for (what, p) in [("weight", weight), ("bias", bias)] {
            if let Some(p) = p {
                assert!(p.shape() == [c], "batch_norm: {what} must be [{c}], got {:?}", p.shape());
            }
        }
        let (mean, var) = self.value().channel_stats();
        let invstd: Vec<T> = var.iter().map(|&v| T::one() / (v + T::of(eps)).sqrt()).collect();
        let w = weight.map(|w| w.value().to_vec());
        let b = bias.map(|b| b.value().to_vec());
        let scale: Vec<T> = (0..c).map(|k| w.as_ref().map_or(invstd[k], |w| w[k] * invstd[k])).collect();
        let shift: Vec<T> = (0..c).map(|k| b.as_ref().map_or(T::zero(), |b| b[k]) - mean[k] * scale[k]).collect();
        let y = self.value().channel_affine(&scale, &shift);
        let mut inputs = vec![self];
        inputs.extend(weight);
        inputs.extend(bias);
        let (has_w, has_b) = (weight.is_some(), bias.is_some());
        let stats = (mean.clone(), invstd);
        let out = Var::custom("batch_norm", y, &inputs, move |x, _, g| {
            let w = has_w.then(|| &x[1]);
            if is_recording() {
                return batch_norm_rule(&x[0], w, g, eps, has_b);
            }
            let (mean, invstd) = &stats;
            let (n, l) = (x[0].shape()[0], x[0].shape()[2]);
            let m = T::of((n * l) as f64);
            let (sg, sgx) = x[0].value().channel_grad_sums(g.value(), mean);
            let wv = w.map(|w| w.value().to_vec());
            let (mut p, mut q, mut r) = (vec![T::zero(); c], vec![T::zero(); c], vec![T::zero(); c]);
            for k in 0..c {
                let kk = wv.as_ref().map_or(invstd[k], |w| w[k] * invstd[k]);
                p[k] = kk;
                q[k] = -kk * invstd[k] * invstd[k] * sgx[k] / m;
                r[k] = -kk * sg[k] / m - q[k] * mean[k];
            }
            let dx = x[0].value().channel_combine(g.value(), &p, &q, &r);
            let mut grads = vec![Some(Var::constant(dx))];
            if has_w {
                let dw: Vec<T> = (0..c).map(|k| sgx[k] * invstd[k]).collect();
                grads.push(Some(Var::constant(Tensor::from_vec(dw, &[c]).expect("[C]"))));
            }
            if has_b {
                grads.push(Some(Var::constant(Tensor::from_vec(sg, &[c]).expect("[C]"))));
            }
            grads.into()
        });
        (out, Tensor::from_vec(mean, &[c]).expect("[C]"), Tensor::from_vec(var, &[c]).expect("[C]"))
    }
}

/// Batch norm's gradients with respect to x, weight and bias, in `Var`
/// ops (differentiable again): with x̂ = (x − μ)/√(σ² + ε) and ĝ = g·weight,
/// dx = (ĝ − mean ĝ − x̂·mean(ĝ·x̂))/√(σ² + ε), dweight = Σ g·x̂, dbias = Σ g.
fn batch_norm_rule<T: Float>(
    x: &Var<T>,
    weight: Option<&Var<T>>,
    g: &Var<T>,
    eps: f64,
    has_bias: bool,
) -> crate::InputGrads<T> {
    let c = x.shape()[1] as isize;
    let centred = x.sub(&x.mean([0, 2], true));
    let invstd = centred.square().mean([0, 2], true).add_scalar(T::of(eps)).sqrt().recip();
    let x_hat = centred.mul(&invstd);
    let g_hat = match weight {
        Some(w) => g.mul(&w.reshape(&[c, 1])),
        None => g.clone(),
    };
    let dx = g_hat.sub(&g_hat.mean([0, 2], true)).sub(&x_hat.mul(&g_hat.mul(&x_hat).mean([0, 2], true))).mul(&invstd);
    let mut grads = vec![Some(dx)];
    if weight.is_some() {
        grads.push(Some(g.mul(&x_hat).sum([0, 2], false)));
    }
    if has_bias {
        grads.push(Some(g.sum([0, 2], false)));
    }
    grads.into()
}
