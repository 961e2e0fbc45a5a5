//! Reductions over one axis, several, or all, with keepdim: sum, mean, var,
//! max/min with argmax/argmin, prod, norm.

use crate::axes::Axes;
use crate::error::{Result, TensorError, or_panic};
use crate::layout::walk;
use crate::storage::alloc;
use crate::{Element, Float, Tensor};
use rayon::prelude::*;

/// Elements folded sequentially before partial results are combined: a
/// cascade that keeps f32 sums accurate and gives parallel tasks.
const BLOCK: usize = 4096;

/// How to reduce: an accumulator, folded element by element and combined
/// across blocks.
pub(crate) struct Reducer<T, A, F, C> {
    pub init: A,
    pub fold: F,
    pub combine: C,
    /// A whole contiguous block folded at once (ignoring the indices), when
    /// that is faster than one element after another: sums in lanes.
    block: Option<fn(&[T]) -> A>,
    _t: std::marker::PhantomData<T>,
}

impl<T, A, F, C> Reducer<T, A, F, C>
where
    T: Element,
    A: Copy + Send + Sync,
    F: Fn(A, T, usize) -> A + Sync,
    C: Fn(A, A) -> A + Sync,
{
    pub(crate) fn new(init: A, fold: F, combine: C) -> Self {
        Self { init, fold, combine, block: None, _t: std::marker::PhantomData }
    }

    /// The reducer folding each contiguous block with `whole` at once.
    pub(crate) fn with_block(self, whole: fn(&[T]) -> A) -> Self {
        Self { block: Some(whole), ..self }
    }

    /// Folds a contiguous run whose first element has index `base` along the
    /// reduced axes.
    fn fold_run(&self, run: &[T], base: usize) -> A {
        let fold_block = |start: usize, block: &[T]| match self.block {
            Some(whole) => whole(block),
            None => block.iter().enumerate().fold(self.init, |acc, (i, &x)| (self.fold)(acc, x, base + start + i)),
        };
        if run.len() <= BLOCK {
            return fold_block(0, run);
        }
        let blocks = run.len().div_ceil(BLOCK);
        let partial = |b: usize| fold_block(b * BLOCK, &run[b * BLOCK..((b + 1) * BLOCK).min(run.len())]);
        if run.len() >= crate::kernel::PARALLEL_THRESHOLD_CHEAP {
            let total = (0..blocks).into_par_iter().map(partial).reduce(|| self.init, |a, b| (self.combine)(a, b));
            crate::threads::note_parallel_work();
            total
        } else {
            (0..blocks).map(partial).fold(self.init, |a, b| (self.combine)(a, b))
        }
    }

    /// Reduces `t` over `axes`; returns the accumulators in row-major order
    /// of the kept axes, the output shape with reduced axes kept as 1, and
    /// the number of elements each accumulator folded.
    pub(crate) fn run(&self, op: &'static str, t: &Tensor<T>, axes: &Axes) -> Result<(Vec<A>, Vec<usize>, usize)> {
        let mask = axes.mask(op, t.shape())?;
        let kept: Vec<usize> = t.shape().iter().zip(&mask).map(|(&d, &r)| if r { 1 } else { d }).collect();
        let count: usize = t.shape().iter().zip(&mask).filter(|(_, r)| **r).map(|(d, _)| d).product();
        let out_len: usize = kept.iter().product();
        let suffix = mask.iter().skip_while(|r| !**r).all(|r| *r);
        if suffix && let Some(data) = t.as_slice() {
            let accs = if count == 0 {
                vec![self.init; out_len]
            } else {
                data.chunks(count).map(|run| self.fold_run(run, 0)).collect()
            };
            return Ok((accs, kept, count));
        }
        // Leading axes reduced (a bias gradient's sum over the batch): add
        // whole rows into the accumulators, in the walk's order.
        let prefix = mask.iter().skip_while(|r| **r).all(|r| !*r);
        if prefix
            && out_len > 0
            && let Some(data) = t.as_slice()
        {
            let mut accs = vec![self.init; out_len];
            for (r, row) in data.chunks(out_len).enumerate() {
                accs.iter_mut().zip(row).for_each(|(a, &x)| *a = (self.fold)(*a, x, r));
            }
            return Ok((accs, kept, count));
        }
        // Leading and trailing axes reduced around kept ones (a batch norm's
        // statistics over N and the plane of [N, C, H·W]): each trailing run
        // folded on its own, then combined into its kept slot.
        let lead = mask.iter().take_while(|r| **r).count();
        let mid = mask[lead..].iter().take_while(|r| !**r).count();
        if lead + mid < mask.len()
            && mask[lead + mid..].iter().all(|r| *r)
            && out_len > 0
            && count > 0
            && let Some(data) = t.as_slice()
        {
            let inner: usize = t.shape()[lead + mid..].iter().product();
            let mut accs = vec![self.init; out_len];
            for (k, run) in data.chunks(inner).enumerate() {
                let (o, m) = (k / out_len, k % out_len);
                accs[m] = (self.combine)(accs[m], self.fold_run(run, o * inner));
            }
            return Ok((accs, kept, count));
        }
        // General case: walk the input, accumulating into the output slot
        // whose strides skip the reduced axes. The position along the reduced
        // axes (for argmax) comes from a stride table over them.
        let mut out_strides = crate::layout::contiguous_strides(&kept);
        let mut pos_strides = vec![0; mask.len()];
        let mut acc_stride = 1;
        for d in (0..mask.len()).rev() {
            if mask[d] {
                out_strides[d] = 0;
                pos_strides[d] = acc_stride;
                acc_stride *= t.shape()[d];
            }
        }
        let mut accs = vec![self.init; out_len];
        let data = t.storage();
        walk(t.shape(), [t.strides(), &out_strides, &pos_strides], [t.layout().offset, 0, 0], |[i, o, p]| {
            accs[o] = (self.fold)(accs[o], data[i], p);
        });
        Ok((accs, kept, count))
    }
}

/// Finishes a reduction: maps accumulators to values and drops the reduced
/// axes unless `keepdim`.
pub(crate) fn finish<A, U: Element>(
    accs: &[A],
    kept: &[usize],
    mask_shape: (&[usize], &Axes),
    keepdim: bool,
    f: impl Fn(&A) -> U,
) -> Tensor<U> {
    let mut out = alloc(accs.len());
    for (o, a) in out.iter_mut().zip(accs) {
        *o = f(a);
    }
    let shape: Vec<usize> = if keepdim {
        kept.to_vec()
    } else {
        let mask = mask_shape.1.mask("reduce", mask_shape.0).expect("axes validated by run");
        kept.iter().zip(mask).filter(|(_, r)| !r).map(|(&d, _)| d).collect()
    };
    Tensor::from_parts(out, &shape)
}

impl<T: Float> Tensor<T> {
    fn reduce_float<A: Copy + Send + Sync>(
        &self,
        op: &'static str,
        axes: Axes,
        keepdim: bool,
        reducer: Reducer<T, A, impl Fn(A, T, usize) -> A + Sync, impl Fn(A, A) -> A + Sync>,
        finish_with: impl Fn(A, usize) -> T,
    ) -> Result<Self> {
        let (accs, kept, count) = reducer.run(op, self, &axes)?;
        Ok(finish(&accs, &kept, (self.shape(), &axes), keepdim, |&a| finish_with(a, count)))
    }

    /// Sum over `axes` (`..` for all), keeping reduced axes as length 1 if
    /// `keepdim`.
    ///
    /// # Panics
    /// If an axis is out of range or repeated.
    #[track_caller]
    pub fn sum(&self, axes: impl Into<Axes>, keepdim: bool) -> Self {
        or_panic(self.try_sum(axes, keepdim))
    }

    /// [`Tensor::sum`], returning an error instead of panicking.
    ///
    /// # Errors
    /// If an axis is out of range or repeated.
    pub fn try_sum(&self, axes: impl Into<Axes>, keepdim: bool) -> Result<Self> {
        // Contiguous blocks summed in lanes: a serial fold waits on each add.
        let r = Reducer::new(T::zero(), |a, x, _| a + x, |a, b| a + b).with_block(crate::row_sum);
        self.reduce_float("sum", axes.into(), keepdim, r, |a, _| a)
    }

    /// Mean over `axes` (NaN over zero elements, as PyTorch).
    ///
    /// # Panics
    /// If an axis is out of range or repeated.
    #[track_caller]
    pub fn mean(&self, axes: impl Into<Axes>, keepdim: bool) -> Self {
        let r = Reducer::new(T::zero(), |a, x, _| a + x, |a, b| a + b).with_block(crate::row_sum);
        or_panic(self.reduce_float("mean", axes.into(), keepdim, r, |a, n| a / T::of(n as f64)))
    }

    /// Product over `axes`.
    ///
    /// # Panics
    /// If an axis is out of range or repeated.
    #[track_caller]
    pub fn prod(&self, axes: impl Into<Axes>, keepdim: bool) -> Self {
        let r = Reducer::new(T::one(), |a, x, _| a * x, |a, b| a * b);
        or_panic(self.reduce_float("prod", axes.into(), keepdim, r, |a, _| a))
    }

    /// Variance over `axes` with Bessel's `correction` (1 is the unbiased
    /// estimator, 0 the population variance), as `torch.var`. Computed in two
    /// passes (mean first) for accuracy. Fewer elements than `correction`
    /// give NaN, as PyTorch does.
    ///
    /// # Panics
    /// If an axis is out of range or repeated.
    #[track_caller]
    pub fn var(&self, axes: impl Into<Axes>, correction: usize, keepdim: bool) -> Self {
        let axes = axes.into();
        let mean = self.mean(axes.clone(), true);
        let r = Reducer::new(T::zero(), |a, x, _| a + x, |a, b| a + b);
        let sq = (self - &mean).square();
        let dof = |n: usize| {
            if n > correction { T::of((n - correction) as f64) } else { T::zero() }
        };
        or_panic(sq.reduce_float(
            "var",
            axes,
            keepdim,
            r,
            |a, n| {
                if dof(n) > T::zero() { a / dof(n) } else { T::nan() }
            },
        ))
    }

    /// Standard deviation: the square root of [`Tensor::var`].
    #[track_caller]
    pub fn std(&self, axes: impl Into<Axes>, correction: usize, keepdim: bool) -> Self {
        self.var(axes, correction, keepdim).sqrt()
    }

    /// Maximum over `axes` (NaN if any element is NaN).
    ///
    /// # Panics
    /// If an axis is out of range or repeated, or the reduction is over zero elements.
    #[track_caller]
    pub fn max(&self, axes: impl Into<Axes>, keepdim: bool) -> Self {
        or_panic(self.extremum("max", axes.into(), keepdim, |a, b| a > b)).0
    }

    /// Minimum over `axes` (NaN if any element is NaN).
    ///
    /// # Panics
    /// As [`Tensor::max`].
    #[track_caller]
    pub fn min(&self, axes: impl Into<Axes>, keepdim: bool) -> Self {
        or_panic(self.extremum("min", axes.into(), keepdim, |a, b| a < b)).0
    }

    /// The largest element along `axis` and its index (the first one on
    /// ties, a NaN's if there is one), as `torch.max(x, dim)`.
    ///
    /// # Panics
    /// If the axis is out of range or has length 0.
    #[track_caller]
    pub fn max_with_indices(&self, axis: isize, keepdim: bool) -> (Self, Tensor<usize>) {
        or_panic(self.extremum("max", axis.into(), keepdim, |a, b| a > b))
    }

    /// The smallest element along `axis` and its index, as `torch.min(x, dim)`.
    ///
    /// # Panics
    /// If the axis is out of range or has length 0.
    #[track_caller]
    pub fn min_with_indices(&self, axis: isize, keepdim: bool) -> (Self, Tensor<usize>) {
        or_panic(self.extremum("min", axis.into(), keepdim, |a, b| a < b))
    }

    /// Index of the largest element along `axis`; over `..` the index into
    /// the flattened tensor.
    ///
    /// # Panics
    /// If the axis is out of range or the reduction is over zero elements.
    #[track_caller]
    pub fn argmax(&self, axes: impl Into<Axes>, keepdim: bool) -> Tensor<usize> {
        or_panic(self.extremum("argmax", axes.into(), keepdim, |a, b| a > b)).1
    }

    /// Index of the smallest element along `axis`; over `..` the flat index.
    ///
    /// # Panics
    /// As [`Tensor::argmax`].
    #[track_caller]
    pub fn argmin(&self, axes: impl Into<Axes>, keepdim: bool) -> Tensor<usize> {
        or_panic(self.extremum("argmin", axes.into(), keepdim, |a, b| a < b)).1
    }

    fn extremum(
        &self,
        op: &'static str,
        axes: Axes,
        keepdim: bool,
        better: impl Fn(T, T) -> bool + Sync + Copy,
    ) -> Result<(Self, Tensor<usize>)> {
        // Accumulator: (value, index); NaN wins and sticks; ties keep the first.
        let pick = move |a: (T, usize), b: (T, usize)| {
            if a.1 == usize::MAX || a.0.is_nan() {
                if a.1 == usize::MAX { b } else { a }
            } else if b.1 != usize::MAX && (b.0.is_nan() || better(b.0, a.0) || (b.0 == a.0 && b.1 < a.1)) {
                b
            } else {
                a
            }
        };
        let r = Reducer::new((T::zero(), usize::MAX), move |a, x, i| pick(a, (x, i)), pick);
        let (accs, kept, count) = r.run(op, self, &axes)?;
        if count == 0 {
            return Err(TensorError::InvalidArgument {
                op,
                reason: format!("reduction over zero elements of shape {:?}", self.shape()),
            });
        }
        // The fast path numbers positions within each run; both paths number
        // them in row-major order of the reduced axes.
        let values = finish(&accs, &kept, (self.shape(), &axes), keepdim, |a| a.0);
        let indices = finish(&accs, &kept, (self.shape(), &axes), keepdim, |a| a.1);
        Ok((values, indices))
    }

    /// The p-norm over `axes`: (Σ|x|ᵖ)^(1/p); `p = ∞` is the largest |x|,
    /// `p = −∞` the smallest, `p = 0` counts non-zeros, as `torch.linalg.vector_norm`.
    ///
    /// # Panics
    /// If an axis is out of range or repeated.
    #[track_caller]
    pub fn norm(&self, p: T, axes: impl Into<Axes>, keepdim: bool) -> Self {
        let axes = axes.into();
        if p == T::infinity() {
            self.abs().max(axes, keepdim)
        } else if p == T::neg_infinity() {
            self.abs().min(axes, keepdim)
        } else if p == T::zero() {
            self.ne(&Tensor::scalar(T::zero())).to_float::<T>().sum(axes, keepdim)
        } else if p == T::one() {
            self.abs().sum(axes, keepdim)
        } else if p == T::of(2.0) {
            self.square().sum(axes, keepdim).sqrt()
        } else {
            self.abs().powf(p).sum(axes, keepdim).powf(p.recip())
        }
    }
}
