//! Shape ops: reshape, transpose, permute, narrow, broadcast_to, squeeze,
//! unsqueeze, concat, stack, index_select, gather, scatter_add.

use crate::Var;
use crate::var::record;
use gradus_tensor::{Float, Tensor, resolve_axis};

impl<T: Float> Var<T> {
    /// The same elements with another shape (one entry may be −1).
    ///
    /// # Panics
    /// If the element counts differ.
    #[track_caller]
    pub fn reshape(&self, shape: &[isize]) -> Self {
        let value = self.value.reshape(shape);
        if value.shape() == self.shape() {
            return self.clone();
        }
        record("reshape", value, &[self], |x, _, g| {
            let back: Vec<isize> = x[0].shape().iter().map(|&d| d as isize).collect();
            smallvec::smallvec![Some(g.reshape(&back))]
        })
    }

    /// Flattens to one dimension.
    pub fn flatten(&self) -> Self {
        self.reshape(&[-1])
    }

    /// Swaps two axes.
    ///
    /// # Panics
    /// If an axis is out of range.
    #[track_caller]
    pub fn transpose(&self, a: isize, b: isize) -> Self {
        record("transpose", self.value.transpose(a, b), &[self], move |_, _, g| {
            smallvec::smallvec![Some(g.transpose(a, b))]
        })
    }

    /// The transpose of the last two axes (1-d and 0-d unchanged).
    pub fn t(&self) -> Self {
        if self.rank() < 2 { self.clone() } else { self.transpose(-2, -1) }
    }

    /// Reorders the axes: output axis i is input axis `axes[i]`.
    ///
    /// # Panics
    /// If `axes` is not a permutation.
    #[track_caller]
    pub fn permute(&self, axes: &[isize]) -> Self {
        let value = self.value.permute(axes);
        let rank = self.rank();
        let mut inverse = vec![0isize; rank];
        for (i, &a) in axes.iter().enumerate() {
            let a = resolve_axis("permute", a, self.shape()).expect("checked by the forward");
            inverse[a] = i as isize;
        }
        record("permute", value, &[self], move |_, _, g| smallvec::smallvec![Some(g.permute(&inverse))])
    }

    /// Elements `start..start + len` along `axis`; the gradient is padded
    /// back with zeros.
    ///
    /// # Panics
    /// If the axis or range is out of bounds.
    #[track_caller]
    pub fn narrow(&self, axis: isize, start: usize, len: usize) -> Self {
        let value = self.value.narrow(axis, start, len);
        record("narrow", value, &[self], move |x, _, g| {
            let a = resolve_axis("narrow", axis, x[0].shape()).expect("checked by the forward");
            let total = x[0].shape()[a];
            let zeros = |n: usize| {
                let mut shape = x[0].shape().to_vec();
                shape[a] = n;
                Var::constant(Tensor::zeros(&shape))
            };
            smallvec::smallvec![Some(Var::concat(&[zeros(start), g.clone(), zeros(total - start - len)], a as isize))]
        })
    }

    /// Broadcasts to `shape` (NumPy's rules); the gradient is summed back.
    ///
    /// # Panics
    /// If the shapes are not compatible.
    #[track_caller]
    pub fn broadcast_to(&self, shape: &[usize]) -> Self {
        if self.value.has_shape(shape) {
            return self.clone();
        }
        record("broadcast_to", self.value.broadcast_to(shape), &[self], |x, _, g| {
            smallvec::smallvec![Some(g.sum_to(x[0].shape()))]
        })
    }

    /// Alias of [`Var::broadcast_to`], under PyTorch's name.
    #[track_caller]
    pub fn expand(&self, shape: &[usize]) -> Self {
        self.broadcast_to(shape)
    }

    /// Removes `axis` (length 1), or every axis of length 1 with `None`.
    ///
    /// # Panics
    /// If the axis is out of range or not of length 1.
    #[track_caller]
    pub fn squeeze(&self, axis: Option<isize>) -> Self {
        let shape: Vec<isize> = self.value.squeeze(axis).shape().iter().map(|&d| d as isize).collect();
        self.reshape(&shape)
    }

    /// Inserts an axis of length 1.
    ///
    /// # Panics
    /// If the axis is out of range.
    #[track_caller]
    pub fn unsqueeze(&self, axis: isize) -> Self {
        let shape: Vec<isize> = self.value.unsqueeze(axis).shape().iter().map(|&d| d as isize).collect();
        self.reshape(&shape)
    }

    /// Joins variables along an existing axis; each gets its slice of the
    /// gradient.
    ///
    /// # Panics
    /// If `vars` is empty or the shapes do not fit.
    #[track_caller]
    pub fn concat(vars: &[Self], axis: isize) -> Self {
        let values: Vec<Tensor<T>> = vars.iter().map(|v| v.value.clone()).collect();
        let value = Tensor::concat(&values, axis);
        let refs: Vec<&Var<T>> = vars.iter().collect();
        record("concat", value, &refs, move |x, _, g| {
            let mut start = 0;
            x.iter()
                .map(|v| {
                    let len = v.shape()[resolve_axis("concat", axis, v.shape()).expect("checked by the forward")];
                    let part = g.narrow(axis, start, len);
                    start += len;
                    Some(part)
                })
                .collect()
        })
    }

    /// Stacks equal-shaped variables along a new axis.
    ///
    /// # Panics
    /// If `vars` is empty or the shapes differ.
    #[track_caller]
    pub fn stack(vars: &[Self], axis: isize) -> Self {
        // A negative axis means the same position before and after the
        // unsqueeze, so concat can resolve it itself.
        let expanded: Vec<Var<T>> = vars.iter().map(|v| v.unsqueeze(axis)).collect();
        Var::concat(&expanded, axis)
    }

    /// The slices at `indices` along `axis`; the gradient is scattered
    /// back (added where an index repeats).
    ///
    /// # Panics
    /// If the axis or an index is out of range.
    #[track_caller]
    pub fn index_select(&self, axis: isize, indices: &Tensor<usize>) -> Self {
        let value = self.value.index_select(axis, indices);
        let indices = indices.clone();
        record("index_select", value, &[self], move |x, _, g| {
            let a = resolve_axis("index_select", axis, x[0].shape()).expect("checked by the forward");
            // Index of the same shape as g: indices along `a`, broadcast elsewhere.
            let mut shape = vec![1; g.rank()];
            shape[a] = indices.numel();
            let full = indices.reshape(&shape.iter().map(|&d| d as isize).collect::<Vec<_>>()).broadcast_to(g.shape());
            let zeros = Var::constant(Tensor::zeros(x[0].shape()));
            smallvec::smallvec![Some(zeros.scatter_add(axis, &full.contiguous(), g))]
        })
    }

    /// Gathers along `axis` as `torch.gather`; the gradient is scattered back.
    ///
    /// # Panics
    /// On shape mismatches or an out-of-range index.
    #[track_caller]
    pub fn gather(&self, axis: isize, index: &Tensor<usize>) -> Self {
        let value = self.value.gather(axis, index);
        let index = index.clone();
        record("gather", value, &[self], move |x, _, g| {
            let zeros = Var::constant(Tensor::zeros(x[0].shape()));
            smallvec::smallvec![Some(zeros.scatter_add(axis, &index, g))]
        })
    }

    /// A copy of `self` with `src` added at `index` along `axis`, as
    /// `torch.scatter_add`; differentiable in both.
    ///
    /// # Panics
    /// On shape mismatches or an out-of-range index.
    #[track_caller]
    pub fn scatter_add(&self, axis: isize, index: &Tensor<usize>, src: &Self) -> Self {
        let value = self.value.scatter_add(axis, index, &src.value);
        let index = index.clone();
        record("scatter_add", value, &[self, src], move |x, _, g| {
            let gs = g.gather(axis, &index);
            // src may be larger than index in non-gathered dims; pad with zeros.
            let gs = if gs.shape() == x[1].shape() { gs } else { pad_to(&gs, x[1].shape()) };
            smallvec::smallvec![Some(g.clone()), Some(gs)]
        })
    }
}

/// Pads `v` with zeros at the end of each axis up to `shape`.
fn pad_to<T: Float>(v: &Var<T>, shape: &[usize]) -> Var<T> {
    let mut out = v.clone();
    for (a, (&have, &want)) in v.shape().iter().zip(shape).enumerate() {
        if want > have {
            let mut zshape = out.shape().to_vec();
            zshape[a] = want - have;
            out = Var::concat(&[out, Var::constant(Tensor::zeros(&zshape))], a as isize);
        }
    }
    out
}
