//! Joining and splitting along an axis: concat, stack, split, split_sizes,
//! chunk (the splits are views).

use crate::error::{Result, TensorError, or_panic};
use crate::layout::{contiguous_strides, resolve_axis, resolve_axis_rank, walk};
use crate::storage::alloc;
use crate::{Element, Tensor};

impl<T: Element> Tensor<T> {
    /// Joins tensors along an existing `axis`; all other dims must match.
    ///
    /// # Panics
    /// If `tensors` is empty, ranks differ, or other dims differ.
    #[track_caller]
    pub fn concat(tensors: &[Self], axis: isize) -> Self {
        or_panic(Self::try_concat(tensors, axis))
    }

    /// [`Tensor::concat`], returning an error instead of panicking.
    ///
    /// # Errors
    /// If `tensors` is empty, ranks differ, or other dims differ.
    pub fn try_concat(tensors: &[Self], axis: isize) -> Result<Self> {
        let op = "concat";
        let first = tensors.first().ok_or(TensorError::InvalidArgument { op, reason: "no tensors given".into() })?;
        let a = resolve_axis(op, axis, first.shape())?;
        for t in tensors {
            let same = t.rank() == first.rank()
                && t.shape().iter().zip(first.shape()).enumerate().all(|(d, (x, y))| d == a || x == y);
            if !same {
                return Err(TensorError::ShapeMismatch {
                    op,
                    lhs: first.shape().to_vec(),
                    rhs: t.shape().to_vec(),
                    reason: format!("all dims but axis {a} must match"),
                });
            }
        }
        let mut shape = first.shape().to_vec();
        shape[a] = tensors.iter().map(|t| t.shape()[a]).sum();
        let mut out = alloc(shape.iter().product());
        let out_strides = contiguous_strides(&shape);
        let mut start = 0;
        for t in tensors {
            let data = t.storage();
            walk(t.shape(), [t.strides(), &out_strides], [t.layout().offset, start * out_strides[a]], |[i, o]| {
                out[o] = data[i];
            });
            start += t.shape()[a];
        }
        Ok(Tensor::from_parts(out, &shape))
    }

    /// Stacks equal-shaped tensors along a new `axis`.
    ///
    /// # Panics
    /// If `tensors` is empty or the shapes differ.
    #[track_caller]
    pub fn stack(tensors: &[Self], axis: isize) -> Self {
        or_panic(Self::try_stack(tensors, axis))
    }

    /// [`Tensor::stack`], returning an error instead of panicking.
    ///
    /// # Errors
    /// If `tensors` is empty or the shapes differ.
    pub fn try_stack(tensors: &[Self], axis: isize) -> Result<Self> {
        let op = "stack";
        let first = tensors.first().ok_or(TensorError::InvalidArgument { op, reason: "no tensors given".into() })?;
        let a = resolve_axis_rank(op, axis, first.rank() + 1, first.shape())?;
        if let Some(t) = tensors.iter().find(|t| t.shape() != first.shape()) {
            return Err(TensorError::ShapeMismatch {
                op,
                lhs: first.shape().to_vec(),
                rhs: t.shape().to_vec(),
                reason: "stacked tensors must have equal shapes".into(),
            });
        }
        let expanded: Vec<Self> = tensors.iter().map(|t| t.unsqueeze(a as isize)).collect();
        Self::try_concat(&expanded, a as isize)
    }

    /// Splits along `axis` into views of `size` elements (the last may be
    /// shorter), as `torch.split` with an int.
    ///
    /// # Panics
    /// If the axis is out of range or `size` is 0.
    #[track_caller]
    pub fn split(&self, size: usize, axis: isize) -> Vec<Self> {
        assert!(size > 0, "split: size must be positive");
        let a = or_panic(resolve_axis("split", axis, self.shape()));
        let n = self.shape()[a];
        (0..n).step_by(size).map(|start| self.narrow(a as isize, start, size.min(n - start))).collect()
    }

    /// Splits along `axis` into views of the given sizes, which must add up
    /// to the axis length.
    ///
    /// # Panics
    /// If the axis is out of range or the sizes do not add up.
    #[track_caller]
    pub fn split_sizes(&self, sizes: &[usize], axis: isize) -> Vec<Self> {
        let a = or_panic(resolve_axis("split_sizes", axis, self.shape()));
        assert_eq!(
            sizes.iter().sum::<usize>(),
            self.shape()[a],
            "split_sizes: sizes {sizes:?} do not add up to axis {a} of shape {:?}",
            self.shape()
        );
        let mut start = 0;
        sizes
            .iter()
            .map(|&len| {
                let part = self.narrow(a as isize, start, len);
                start += len;
                part
            })
            .collect()
    }

    /// Splits along `axis` into `chunks` views of equal size (the last may
    /// be smaller; fewer come back if the axis is short), as `torch.chunk`.
    ///
    /// # Panics
    /// If the axis is out of range or `chunks` is 0.
    #[track_caller]
    pub fn chunk(&self, chunks: usize, axis: isize) -> Vec<Self> {
        assert!(chunks > 0, "chunk: number of chunks must be positive");
        let n = self.dim(axis);
        self.split(n.div_ceil(chunks).max(1), axis)
    }
}

#[cfg(test)]
mod tests {
    use crate::Tensor;
    use crate::testing::iota;

    #[test]
    fn concat_stack_split() {
        let a = iota(&[2, 2]);
        let b = iota(&[2, 1]);
        assert_eq!(Tensor::concat(&[a.clone(), b.clone()], 1).to_vec(), vec![0.0, 1.0, 0.0, 2.0, 3.0, 1.0]);
        assert_eq!(Tensor::stack(&[a.clone(), a.t()], 0).shape(), &[2, 2, 2]);
        assert_eq!(Tensor::stack(&[b.clone(), b.clone()], -1).to_vec(), vec![0.0, 0.0, 1.0, 1.0]);
        assert!(Tensor::try_concat(&[a.clone(), b.t()], 1).is_err());
        let parts = iota(&[5]).split(2, 0);
        assert_eq!(parts.iter().map(|p| p.numel()).collect::<Vec<_>>(), vec![2, 2, 1]);
        assert_eq!(iota(&[5]).chunk(2, 0)[1].to_vec(), vec![3.0, 4.0]);
        assert_eq!(iota(&[5]).split_sizes(&[1, 4], 0)[1].to_vec(), vec![1.0, 2.0, 3.0, 4.0]);
    }
}
