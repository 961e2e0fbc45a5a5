//! Views: transpose, permute, narrow, expand, squeeze/unsqueeze, reshape.
//!
//! Each changes only the layout and shares the storage, except `reshape` of
//! a tensor whose strides do not allow it, which copies (as PyTorch does).

use crate::error::{Result, TensorError, or_panic};
use crate::layout::{Dims, Layout, resolve_axis, resolve_axis_rank};
use crate::{Element, Tensor};

impl<T: Element> Tensor<T> {
    /// Reorders the axes: output axis `i` is input axis `axes[i]`.
    ///
    /// # Panics
    /// If `axes` is not a permutation of `0..rank`.
    #[track_caller]
    pub fn permute(&self, axes: &[isize]) -> Self {
        or_panic(self.try_permute(axes))
    }

    /// [`Tensor::permute`], returning an error instead of panicking.
    ///
    /// # Errors
    /// If `axes` is not a permutation of the tensor's axes.
    pub fn try_permute(&self, axes: &[isize]) -> Result<Self> {
        let rank = self.rank();
        let bad = || TensorError::InvalidArgument {
            op: "permute",
            reason: format!("{axes:?} is not a permutation of the {rank} axes of shape {:?}", self.shape()),
        };
        if axes.len() != rank {
            return Err(bad());
        }
        let mut seen = vec![false; rank];
        let mut layout = self.layout().clone();
        for (i, &axis) in axes.iter().enumerate() {
            let a = resolve_axis("permute", axis, self.shape()).map_err(|_| bad())?;
            if std::mem::replace(&mut seen[a], true) {
                return Err(bad());
            }
            layout.shape[i] = self.layout().shape[a];
            layout.strides[i] = self.layout().strides[a];
        }
        Ok(self.with_layout(layout))
    }

    /// Swaps two axes (a view).
    ///
    /// # Panics
    /// If an axis is out of range.
    #[track_caller]
    pub fn transpose(&self, a: isize, b: isize) -> Self {
        or_panic(self.try_transpose(a, b))
    }

    /// [`Tensor::transpose`], returning an error instead of panicking.
    ///
    /// # Errors
    /// [`TensorError::AxisOutOfRange`] if an axis is out of range.
    pub fn try_transpose(&self, a: isize, b: isize) -> Result<Self> {
        let a = resolve_axis("transpose", a, self.shape())?;
        let b = resolve_axis("transpose", b, self.shape())?;
        let mut layout = self.layout().clone();
        layout.shape.swap(a, b);
        layout.strides.swap(a, b);
        Ok(self.with_layout(layout))
    }

    /// The transpose of the last two axes (`mT` in PyTorch); a 1-d or 0-d
    /// tensor is returned unchanged.
    pub fn t(&self) -> Self {
        if self.rank() < 2 { self.clone() } else { self.transpose(-2, -1) }
    }

    /// The elements `start..start + len` along `axis` (a view).
    ///
    /// # Panics
    /// If the axis or the range is out of bounds.
    #[track_caller]
    pub fn narrow(&self, axis: isize, start: usize, len: usize) -> Self {
        or_panic(self.try_narrow(axis, start, len))
    }

    /// [`Tensor::narrow`], returning an error instead of panicking.
    ///
    /// # Errors
    /// If the axis or the range is out of bounds.
    pub fn try_narrow(&self, axis: isize, start: usize, len: usize) -> Result<Self> {
        let a = resolve_axis("narrow", axis, self.shape())?;
        let size = self.layout().shape[a];
        if start.checked_add(len).is_none_or(|end| end > size) {
            return Err(TensorError::InvalidArgument {
                op: "narrow",
                reason: format!("range {start}..{} exceeds axis {a} of size {size}", start.saturating_add(len)),
            });
        }
        let mut layout = self.layout().clone();
        layout.shape[a] = len;
        if len > 0 {
            layout.offset += start * layout.strides[a];
        }
        Ok(self.with_layout(layout))
    }

    /// Broadcasts to `shape` under NumPy's rules (a view with stride 0 on the
    /// expanded axes), as `torch.Tensor.expand`/`broadcast_to`.
    ///
    /// # Panics
    /// If the shapes are not compatible.
    #[track_caller]
    pub fn broadcast_to(&self, shape: &[usize]) -> Self {
        or_panic(self.try_broadcast_to(shape))
    }

    /// [`Tensor::broadcast_to`], returning an error instead of panicking.
    ///
    /// # Errors
    /// [`TensorError::Broadcast`] if the shapes are not compatible.
    pub fn try_broadcast_to(&self, shape: &[usize]) -> Result<Self> {
        let strides = self.layout().broadcast_strides("broadcast_to", shape)?;
        Ok(self.with_layout(Layout { shape: Dims::from_slice(shape), strides, offset: self.layout().offset }))
    }

    /// Alias of [`Tensor::broadcast_to`], under PyTorch's name.
    #[track_caller]
    pub fn expand(&self, shape: &[usize]) -> Self {
        self.broadcast_to(shape)
    }

    /// Removes `axis` if its length is 1; `None` removes every axis of length 1.
    ///
    /// # Panics
    /// If the axis is out of range or its length is not 1.
    #[track_caller]
    pub fn squeeze(&self, axis: Option<isize>) -> Self {
        or_panic(self.try_squeeze(axis))
    }

    /// [`Tensor::squeeze`], returning an error instead of panicking.
    ///
    /// # Errors
    /// If the axis is out of range or its length is not 1.
    pub fn try_squeeze(&self, axis: Option<isize>) -> Result<Self> {
        let mut layout = self.layout().clone();
        match axis {
            Some(axis) => {
                let a = resolve_axis("squeeze", axis, self.shape())?;
                if self.layout().shape[a] != 1 {
                    return Err(TensorError::InvalidArgument {
                        op: "squeeze",
                        reason: format!(
                            "axis {a} of shape {:?} has length {}, not 1",
                            self.shape(),
                            self.layout().shape[a]
                        ),
                    });
                }
                layout.shape.remove(a);
                layout.strides.remove(a);
            }
            None => {
                let keep: Vec<usize> = (0..self.rank()).filter(|&a| self.layout().shape[a] != 1).collect();
                layout.shape = keep.iter().map(|&a| self.layout().shape[a]).collect();
                layout.strides = keep.iter().map(|&a| self.layout().strides[a]).collect();
            }
        }
        Ok(self.with_layout(layout))
    }

    /// Inserts an axis of length 1 at `axis` (`-1` appends).
    ///
    /// # Panics
    /// If `axis` is outside `-(rank+1)..=rank`.
    #[track_caller]
    pub fn unsqueeze(&self, axis: isize) -> Self {
        or_panic(self.try_unsqueeze(axis))
    }

    /// [`Tensor::unsqueeze`], returning an error instead of panicking.
    ///
    /// # Errors
    /// [`TensorError::AxisOutOfRange`] if `axis` is outside `-(rank+1)..=rank`.
    pub fn try_unsqueeze(&self, axis: isize) -> Result<Self> {
        let a = resolve_axis_rank("unsqueeze", axis, self.rank() + 1, self.shape())?;
        let mut layout = self.layout().clone();
        let stride = layout.strides.get(a).map_or(1, |&s| s * layout.shape[a]);
        layout.shape.insert(a, 1);
        layout.strides.insert(a, stride);
        Ok(self.with_layout(layout))
    }

    /// The same elements with another shape; a view when the strides allow
    /// (always for contiguous data), otherwise a contiguous copy. One entry
    /// of `shape` may be `-1`, inferred from the others.
    ///
    /// # Panics
    /// If the element counts differ or more than one entry is `-1`.
    #[track_caller]
    pub fn reshape(&self, shape: &[isize]) -> Self {
        or_panic(self.try_reshape(shape))
    }

    /// [`Tensor::reshape`], returning an error instead of panicking.
    ///
    /// # Errors
    /// If the element counts differ or the shape has a bad entry.
    pub fn try_reshape(&self, shape: &[isize]) -> Result<Self> {
        let numel = self.numel();
        let bad = |reason: &str| TensorError::InvalidArgument {
            op: "reshape",
            reason: format!("cannot reshape {:?} ({numel} elements) to {shape:?}: {reason}", self.shape()),
        };
        let inferred: Vec<usize> = shape.iter().enumerate().filter(|(_, d)| **d == -1).map(|(i, _)| i).collect();
        if inferred.len() > 1 || shape.iter().any(|&d| d < -1) {
            return Err(bad("at most one -1 and no other negative entry"));
        }
        let known: usize = shape.iter().filter(|&&d| d >= 0).map(|&d| d as usize).product();
        let mut dims: Vec<usize> = shape.iter().map(|&d| d.max(0) as usize).collect();
        if let Some(&i) = inferred.first() {
            if known == 0 || !numel.is_multiple_of(known) {
                return Err(bad("the -1 cannot be inferred"));
            }
            dims[i] = numel / known;
        }
        if dims.iter().product::<usize>() != numel {
            return Err(bad("element counts differ"));
        }
        Ok(match self.layout().reshape_strides(&dims) {
            Some(strides) => self.with_layout(Layout { shape: dims.into(), strides, offset: self.layout().offset }),
            None => {
                let c = self.contiguous();
                c.with_layout(Layout::contiguous(&dims))
            }
        })
    }

    /// Flattens to one dimension (a view when contiguous).
    pub fn flatten(&self) -> Self {
        self.reshape(&[-1])
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::iota;

    #[test]
    fn views_share_storage() {
        let a = iota(&[2, 3, 4]);
        for v in [a.t(), a.permute(&[2, 0, 1]), a.narrow(1, 1, 2), a.unsqueeze(0), a.reshape(&[6, -1])] {
            assert!(v.shares_storage_with(&a));
        }
        assert!(a.narrow(2, 0, 1).squeeze(Some(-1)).shares_storage_with(&a));
        assert!(a.narrow(0, 1, 1).broadcast_to(&[5, 1, 3, 4]).shares_storage_with(&a));
    }

    #[test]
    fn permute_and_narrow_select_the_right_elements() {
        let a = iota(&[2, 3]);
        assert_eq!(a.t().to_vec(), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        assert_eq!(a.narrow(1, 1, 2).to_vec(), vec![1.0, 2.0, 4.0, 5.0]);
        assert_eq!(a.narrow(1, 1, 2).t().contiguous().to_vec(), vec![1.0, 4.0, 2.0, 5.0]);
        assert_eq!(iota(&[3]).unsqueeze(1).broadcast_to(&[3, 2]).to_vec(), vec![0.0, 0.0, 1.0, 1.0, 2.0, 2.0]);
    }

    #[test]
    fn reshape_of_a_transpose_copies() {
        let a = iota(&[2, 3]);
        let r = a.t().reshape(&[-1]);
        assert!(!r.shares_storage_with(&a));
        assert_eq!(r.to_vec(), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        assert!(a.try_reshape(&[4, -1]).is_err());
        assert!(a.try_permute(&[0, 0]).is_err());
        assert!(a.try_narrow(0, 1, 2).is_err());
        assert_eq!(
            a.try_squeeze(Some(0)).unwrap_err().to_string(),
            "squeeze: axis 0 of shape [2, 3] has length 2, not 1"
        );
        assert!(a.try_transpose(0, 2).is_err());
        assert!(a.try_unsqueeze(3).is_err());
        assert_eq!(a.try_unsqueeze(-1).unwrap().shape(), &[2, 3, 1]);
    }
}
