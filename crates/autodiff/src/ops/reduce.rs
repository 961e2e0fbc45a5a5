//! Reductions: sum, mean, var, max/min, logsumexp, norm, and `sum_to`, the
//! one unbroadcast every broadcasting backward uses.

use crate::Var;
use crate::var::record;
use gradus_tensor::{Axes, Float, Tensor};

/// The reduced axes of `shape` as a keepdim shape (reduced axes set to 1).
fn keepdim_shape(shape: &[usize], axes: &Axes) -> Vec<isize> {
    let mask = axes.mask("reduce", shape).expect("axes checked by the forward");
    shape.iter().zip(mask).map(|(&d, r)| if r { 1 } else { d as isize }).collect()
}

/// How many elements each output of a reduction over `axes` folds.
fn reduced_count(shape: &[usize], axes: &Axes) -> usize {
    let total: usize = shape.iter().product();
    let kept: isize = keepdim_shape(shape, axes).iter().product();
    if kept == 0 { 0 } else { total / kept as usize }
}

impl<T: Float> Var<T> {
    /// Sums `self` down to `shape`, which it was broadcast from: over new
    /// leading axes and over axes where `shape` has 1. The reverse of
    /// broadcasting, shared by every broadcasting backward rule.
    ///
    /// # Panics
    /// If `self` could not have been broadcast from `shape`.
    #[track_caller]
    pub fn sum_to(&self, shape: &[usize]) -> Self {
        if self.value.has_shape(shape) {
            return self.clone();
        }
        let extra = self
            .rank()
            .checked_sub(shape.len())
            .unwrap_or_else(|| panic!("sum_to: cannot reduce shape {:?} to {shape:?}", self.shape()));
        let axes: Vec<isize> = (0..self.rank())
            .filter(|&d| d < extra || (shape[d - extra] == 1 && self.shape()[d] != 1))
            .map(|d| d as isize)
            .collect();
        let target: Vec<isize> = shape.iter().map(|&d| d as isize).collect();
        let value = self.value.sum(axes, true).reshape(&target);
        record("sum_to", value, &[self], |x, _, g| smallvec::smallvec![Some(g.broadcast_to(x[0].shape()))])
    }

    /// Sum over `axes` (`..` for all), keeping reduced axes if `keepdim`.
    ///
    /// # Panics
    /// If an axis is out of range or repeated.
    #[track_caller]
    pub fn sum(&self, axes: impl Into<Axes>, keepdim: bool) -> Self {
        let axes = axes.into();
        let value = self.value.sum(axes.clone(), keepdim);
        record("sum", value, &[self], move |x, _, g| {
            let kept = keepdim_shape(x[0].shape(), &axes);
            smallvec::smallvec![Some(g.reshape(&kept).broadcast_to(x[0].shape()))]
        })
    }

    /// Mean over `axes`.
    ///
    /// # Panics
    /// If an axis is out of range or repeated.
    #[track_caller]
    pub fn mean(&self, axes: impl Into<Axes>, keepdim: bool) -> Self {
        let axes = axes.into();
        let n = reduced_count(self.shape(), &axes);
        self.sum(axes, keepdim).mul_scalar(T::one() / T::of(n as f64))
    }

    /// Variance over `axes` with Bessel's `correction` (1: unbiased).
    ///
    /// # Panics
    /// If an axis is out of range or repeated.
    #[track_caller]
    pub fn var(&self, axes: impl Into<Axes>, correction: usize, keepdim: bool) -> Self {
        let axes = axes.into();
        let n = reduced_count(self.shape(), &axes);
        let centred = self.sub(&self.mean(axes.clone(), true));
        let dof = if n > correction { T::one() / T::of((n - correction) as f64) } else { T::nan() };
        centred.square().sum(axes, keepdim).mul_scalar(dof)
    }

    /// Maximum over `axes`; the gradient is shared equally among tied
    /// maxima (as `torch.amax`).
    ///
    /// # Panics
    /// If an axis is out of range or the reduction is empty.
    #[track_caller]
    pub fn max(&self, axes: impl Into<Axes>, keepdim: bool) -> Self {
        self.extremum("max", axes.into(), keepdim, Tensor::max)
    }

    /// Minimum over `axes`; ties share the gradient.
    ///
    /// # Panics
    /// As [`Var::max`].
    #[track_caller]
    pub fn min(&self, axes: impl Into<Axes>, keepdim: bool) -> Self {
        self.extremum("min", axes.into(), keepdim, Tensor::min)
    }

    fn extremum(
        &self,
        op: &'static str,
        axes: Axes,
        keepdim: bool,
        f: fn(&Tensor<T>, Axes, bool) -> Tensor<T>,
    ) -> Self {
        let value = f(&self.value, axes.clone(), keepdim);
        record(op, value, &[self], move |x, out, g| {
            let kept = keepdim_shape(x[0].shape(), &axes);
            let at = x[0].value.eq(&out.value.reshape(&kept)).to_float::<T>();
            let count = at.sum(axes.clone(), true);
            let share = Var::constant(&at / &count);
            smallvec::smallvec![Some(g.reshape(&kept).mul(&share))]
        })
    }

    /// log Σ exp over `axes`, stable at ±1000; its gradient is the softmax.
    ///
    /// # Panics
    /// If an axis is out of range or repeated.
    #[track_caller]
    pub fn logsumexp(&self, axes: impl Into<Axes>, keepdim: bool) -> Self {
        let axes = axes.into();
        let value = self.value.logsumexp(axes.clone(), keepdim);
        record("logsumexp", value, &[self], move |x, out, g| {
            let kept = keepdim_shape(x[0].shape(), &axes);
            let softmax = x[0].sub(&out.reshape(&kept)).exp();
            smallvec::smallvec![Some(g.reshape(&kept).mul(&softmax))]
        })
    }

    /// The Euclidean norm over `axes`, with gradient x/‖x‖ and 0 where the
    /// norm is 0 (as PyTorch; the composed √Σx² would give NaN there).
    fn norm2(&self, axes: Axes, keepdim: bool) -> Self {
        let value = self.value.square().sum(axes.clone(), keepdim).sqrt();
        record("norm2", value, &[self], move |x, out, g| {
            let kept = keepdim_shape(x[0].shape(), &axes);
            let out = out.reshape(&kept);
            let nonzero = out.value().gt_scalar(T::zero());
            let safe = Var::select(&nonzero, &out, &Var::constant(Tensor::ones(&[])));
            let unit = Var::select(&nonzero, &x[0].div(&safe), &Var::constant(Tensor::zeros(&[])));
            smallvec::smallvec![Some(g.reshape(&kept).mul(&unit))]
        })
    }

    /// The p-norm over `axes`: (Σ|x|ᵖ)^(1/p); `p = ∞` is the largest |x|.
    ///
    /// # Panics
    /// If an axis is out of range or repeated.
    #[track_caller]
    pub fn norm(&self, p: T, axes: impl Into<Axes>, keepdim: bool) -> Self {
        let axes = axes.into();
        if p == T::infinity() {
            self.abs().max(axes, keepdim)
        } else if p == T::one() {
            self.abs().sum(axes, keepdim)
        } else if p == T::of(2.0) {
            self.norm2(axes, keepdim)
        } else {
            self.abs().powf(p).sum(axes, keepdim).powf(p.recip())
        }
    }
}
