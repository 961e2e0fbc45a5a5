//! Indexing: index_select, gather, scatter_add, one_hot.

use crate::error::{Result, TensorError, or_panic};
use crate::layout::{contiguous_strides, resolve_axis, walk};
use crate::storage::alloc;
use crate::{Element, Float, Tensor};

fn check_index(op: &'static str, index: usize, axis: usize, size: usize) -> Result<()> {
    if index >= size { Err(TensorError::IndexOutOfRange { op, index, axis, size }) } else { Ok(()) }
}

impl<T: Element> Tensor<T> {
    /// The slices at `indices` along `axis`, in that order (repeats allowed),
    /// as `torch.index_select`.
    ///
    /// # Panics
    /// If the axis is out of range, `indices` is not 1-d, or an index is out
    /// of range.
    #[track_caller]
    pub fn index_select(&self, axis: isize, indices: &Tensor<usize>) -> Self {
        or_panic(self.try_index_select(axis, indices))
    }

    /// [`Tensor::index_select`], returning an error instead of panicking.
    ///
    /// # Errors
    /// If the axis is out of range, `indices` is not 1-d, or an index is out
    /// of range.
    pub fn try_index_select(&self, axis: isize, indices: &Tensor<usize>) -> Result<Self> {
        let op = "index_select";
        let a = resolve_axis(op, axis, self.shape())?;
        if indices.rank() != 1 {
            return Err(TensorError::InvalidArgument {
                op,
                reason: format!("indices must be 1-d, got shape {:?}", indices.shape()),
            });
        }
        let idx = indices.to_vec();
        for &i in &idx {
            check_index(op, i, a, self.shape()[a])?;
        }
        let mut shape = self.shape().to_vec();
        shape[a] = idx.len();
        let inner_shape = &self.shape()[a + 1..];
        let inner_strides = &self.strides()[a + 1..];
        let data = self.storage();
        let mut out = Vec::with_capacity(shape.iter().product());
        let outer_shape = &self.shape()[..a];
        let outer_strides = &self.strides()[..a];
        walk(outer_shape, [outer_strides], [self.layout().offset], |[base]| {
            for &i in &idx {
                walk(inner_shape, [inner_strides], [base + i * self.strides()[a]], |[o]| out.push(data[o]));
            }
        });
        Ok(Tensor::from_parts(out, &shape))
    }

    /// Gathers along `axis`: `out[i][j] = self[index[i][j]][j]` for axis 0,
    /// as `torch.gather`. `index` has the rank of `self`; its other dims may
    /// not exceed `self`'s.
    ///
    /// # Panics
    /// On a rank or size mismatch or an out-of-range index.
    #[track_caller]
    pub fn gather(&self, axis: isize, index: &Tensor<usize>) -> Self {
        or_panic(self.try_gather(axis, index))
    }

    /// [`Tensor::gather`], returning an error instead of panicking.
    ///
    /// # Errors
    /// On a rank or size mismatch or an out-of-range index.
    pub fn try_gather(&self, axis: isize, index: &Tensor<usize>) -> Result<Self> {
        let op = "gather";
        let a = resolve_axis(op, axis, self.shape())?;
        check_gather_shapes(op, self.shape(), index.shape(), a)?;
        let data = self.storage();
        let idx = index.storage();
        let mut out = alloc(index.numel());
        let mut k = 0;
        let mut failure = None;
        // Walk the index tensor; `base` is the matching position in `self`
        // with the gathered axis at 0.
        let mut base_strides = self.strides().to_vec();
        base_strides[a] = 0;
        walk(
            index.shape(),
            [index.strides(), &base_strides],
            [index.layout().offset, self.layout().offset],
            |[i, b]| {
                let j = idx[i];
                if in_range(op, j, a, self.shape()[a], &mut failure) {
                    out[k] = data[b + j * self.strides()[a]];
                }
                k += 1;
            },
        );
        match failure {
            Some(err) => Err(err),
            None => Ok(Tensor::from_parts(out, index.shape())),
        }
    }
}

/// Whether `index` is within an axis of `size`; if not, records the first
/// such failure (walk closures cannot return early) and says no.
fn in_range(op: &'static str, index: usize, axis: usize, size: usize, failure: &mut Option<TensorError>) -> bool {
    if index < size {
        return true;
    }
    failure.get_or_insert(TensorError::IndexOutOfRange { op, index, axis, size });
    false
}

fn check_gather_shapes(op: &'static str, src: &[usize], index: &[usize], axis: usize) -> Result<()> {
    let ok = src.len() == index.len() && index.iter().zip(src).enumerate().all(|(d, (i, s))| d == axis || i <= s);
    if ok {
        Ok(())
    } else {
        Err(TensorError::ShapeMismatch {
            op,
            lhs: src.to_vec(),
            rhs: index.to_vec(),
            reason: format!("index must have the same rank and no larger dims than the source except on axis {axis}"),
        })
    }
}

impl<T: Float> Tensor<T> {
    /// Adds `src` into a copy of `self` at `index` along `axis`:
    /// `out[index[i][j]][j] += src[i][j]` for axis 0, as `torch.scatter_add`
    /// (the backward of `gather`).
    ///
    /// # Panics
    /// On shape mismatches or an out-of-range index.
    #[track_caller]
    pub fn scatter_add(&self, axis: isize, index: &Tensor<usize>, src: &Self) -> Self {
        or_panic(self.try_scatter_add(axis, index, src))
    }

    /// [`Tensor::scatter_add`], returning an error instead of panicking.
    ///
    /// # Errors
    /// On shape mismatches or an out-of-range index.
    pub fn try_scatter_add(&self, axis: isize, index: &Tensor<usize>, src: &Self) -> Result<Self> {
        let op = "scatter_add";
        let a = resolve_axis(op, axis, self.shape())?;
        check_gather_shapes(op, self.shape(), index.shape(), a)?;
        if index.rank() != src.rank() || index.shape().iter().zip(src.shape()).any(|(i, s)| i > s) {
            return Err(TensorError::ShapeMismatch {
                op,
                lhs: index.shape().to_vec(),
                rhs: src.shape().to_vec(),
                reason: "src must be at least as large as index in every dim".into(),
            });
        }
        let mut out = self.contiguous().to_vec();
        let out_strides = contiguous_strides(self.shape());
        let mut base_strides = out_strides.clone();
        base_strides[a] = 0;
        let (idx, sdata) = (index.storage(), src.storage());
        let mut failure = None;
        walk(
            index.shape(),
            [index.strides(), src.strides(), &base_strides],
            [index.layout().offset, src.layout().offset, 0],
            |[i, s, b]| {
                let j = idx[i];
                if in_range(op, j, a, self.shape()[a], &mut failure) {
                    out[b + j * out_strides[a]] += sdata[s];
                }
            },
        );
        match failure {
            Some(err) => Err(err),
            None => Ok(Tensor::from_parts(out, self.shape())),
        }
    }

    /// One-hot encoding: shape `indices.shape() + [num_classes]`, 1 at each
    /// index, 0 elsewhere.
    ///
    /// # Panics
    /// If an index is `>= num_classes`.
    #[track_caller]
    pub fn one_hot(indices: &Tensor<usize>, num_classes: usize) -> Self {
        let idx = indices.to_vec();
        let mut out = alloc(idx.len() * num_classes);
        out.fill(T::zero());
        for (row, &i) in idx.iter().enumerate() {
            or_panic(check_index("one_hot", i, indices.rank(), num_classes));
            out[row * num_classes + i] = T::one();
        }
        let mut shape = indices.shape().to_vec();
        shape.push(num_classes);
        Tensor::from_parts(out, &shape)
    }
}

#[cfg(test)]
mod tests {
    use crate::Tensor;
    use crate::testing::iota;

    fn idx(v: &[usize], shape: &[usize]) -> Tensor<usize> {
        Tensor::from_slice(v, shape).unwrap()
    }

    #[test]
    fn index_select_and_gather() {
        let a = iota(&[3, 2]);
        assert_eq!(a.index_select(0, &idx(&[2, 0, 2], &[3])).to_vec(), vec![4.0, 5.0, 0.0, 1.0, 4.0, 5.0]);
        assert_eq!(a.index_select(1, &idx(&[1], &[1])).to_vec(), vec![1.0, 3.0, 5.0]);
        assert_eq!(a.gather(1, &idx(&[1, 0, 0], &[3, 1])).to_vec(), vec![1.0, 2.0, 4.0]);
        let err = a.try_gather(1, &idx(&[2, 0, 0], &[3, 1])).unwrap_err();
        assert_eq!(err.to_string(), "gather: index 2 is out of range for axis 1 of size 2");
    }

    #[test]
    fn scatter_add_is_the_adjoint_of_gather() {
        let base = Tensor::<f64>::zeros(&[2, 3]);
        let index = idx(&[2, 2, 0, 1], &[2, 2]);
        let src = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
        assert_eq!(base.scatter_add(1, &index, &src).to_vec(), vec![0.0, 0.0, 3.0, 3.0, 4.0, 0.0]);
    }

    #[test]
    fn one_hot_rows() {
        let oh = Tensor::<f32>::one_hot(&idx(&[1, 0], &[2]), 3);
        assert_eq!(oh.to_vec(), vec![0.0, 1.0, 0.0, 1.0, 0.0, 0.0]);
    }
}
