//! Normalisation over chosen axes: `normalize`, (x − mean)/√(var + ε) with
//! the biased variance (the statistics of layer, group, instance and batch
//! norm), and `rms_normalize`, x/√(mean x² + ε) (RMSNorm's). Both are
//! composites of reductions and element-wise ops, so their second
//! derivatives need no rule of their own.

use crate::Var;
use gradus_tensor::{Axes, Float};

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
}
