//! `Tensor<T>`: shared storage plus a layout, and its basic accessors.

use crate::Element;
use crate::error::{Result, TensorError};
use crate::layout::{Layout, walk};
use crate::storage::{Buffer, Storage, alloc};
use std::sync::Arc;

/// An n-dimensional array of `T`, row-major, any rank from 0 (a scalar) up.
///
/// Clones share storage (an `Arc`), and views — transpose, permute, narrow,
/// expand, squeeze/unsqueeze, reshape of contiguous data — share it too:
/// only the shape, strides and offset change. Operations return new tensors;
/// nothing is mutated behind a clone's back ([`Tensor::data_mut`] copies first
/// when the storage is shared).
///
/// # Examples
/// ```
/// use gradus_tensor::Tensor;
/// let a = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
/// let at = a.t(); // a view: no copy
/// assert_eq!(at.to_vec(), vec![1.0, 3.0, 2.0, 4.0]);
/// assert_eq!((&a + &at).to_vec(), vec![2.0, 5.0, 5.0, 8.0]);
/// ```
pub struct Tensor<T: Element> {
    pub(crate) storage: Arc<Storage<T>>,
    pub(crate) layout: Layout,
}

impl<T: Element> Clone for Tensor<T> {
    fn clone(&self) -> Self {
        Self { storage: Arc::clone(&self.storage), layout: self.layout.clone() }
    }
}

impl<T: Element> Tensor<T> {
    /// A contiguous tensor owning `data` laid out as `shape`.
    pub(crate) fn from_parts(data: impl Into<Buffer<T>>, shape: &[usize]) -> Self {
        let data = data.into();
        debug_assert_eq!(data.len(), shape.iter().product::<usize>());
        Self { storage: Arc::new(Storage::new(data)), layout: Layout::contiguous(shape) }
    }

    /// A view of the same storage with another layout.
    pub(crate) fn with_layout(&self, layout: Layout) -> Self {
        Self { storage: Arc::clone(&self.storage), layout }
    }

    /// A tensor of `shape` holding `data` in row-major order.
    ///
    /// # Errors
    /// [`TensorError::DataLength`] if `data.len()` is not the product of `shape`.
    ///
    /// # Examples
    /// ```
    /// use gradus_tensor::Tensor;
    /// let t = Tensor::from_vec(vec![1.0f64, 2.0, 3.0], &[3]).unwrap();
    /// assert_eq!(t.shape(), &[3]);
    /// assert!(Tensor::from_vec(vec![1.0f64, 2.0], &[3]).is_err());
    /// ```
    pub fn from_vec(data: Vec<T>, shape: &[usize]) -> Result<Self> {
        let expected: usize = shape.iter().product();
        if data.len() != expected {
            return Err(TensorError::DataLength { op: "from_vec", shape: shape.to_vec(), expected, got: data.len() });
        }
        Ok(Self::from_parts(data, shape))
    }

    /// Like [`Tensor::from_vec`], copying from a slice.
    ///
    /// # Errors
    /// [`TensorError::DataLength`] if the lengths differ.
    pub fn from_slice(data: &[T], shape: &[usize]) -> Result<Self> {
        let expected: usize = shape.iter().product();
        if data.len() != expected {
            return Err(TensorError::DataLength { op: "from_slice", shape: shape.to_vec(), expected, got: data.len() });
        }
        let mut buf = alloc(data.len());
        buf.copy_from_slice(data);
        Ok(Self::from_parts(buf, shape))
    }

    /// A 0-d tensor holding `value`.
    pub fn scalar(value: T) -> Self {
        let mut buf = alloc(1);
        buf[0] = value;
        Self::from_parts(buf, &[])
    }

    /// A tensor of `shape` with every element `value`.
    pub fn full(shape: &[usize], value: T) -> Self {
        Self::from_parts(crate::storage::alloc_filled(shape.iter().product(), value), shape)
    }

    /// The dimensions.
    #[inline]
    pub fn shape(&self) -> &[usize] {
        &self.layout.shape
    }

    /// The strides, in elements.
    #[inline]
    pub fn strides(&self) -> &[usize] {
        &self.layout.strides
    }

    /// The number of dimensions (0 for a scalar).
    #[inline]
    pub fn rank(&self) -> usize {
        self.layout.shape.len()
    }

    /// The number of elements.
    #[inline]
    pub fn numel(&self) -> usize {
        self.layout.numel()
    }

    /// The length of `axis` (negative counts from the end).
    ///
    /// # Panics
    /// If the axis is out of range.
    #[track_caller]
    pub fn dim(&self, axis: isize) -> usize {
        self.layout.shape[crate::error::or_panic(crate::layout::resolve_axis("dim", axis, self.shape()))]
    }

    /// Whether the elements are dense and row-major.
    #[inline]
    pub fn is_contiguous(&self) -> bool {
        self.layout.is_contiguous()
    }

    /// Whether two tensors share storage (one is a view of the other).
    pub fn shares_storage_with(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.storage, &other.storage)
    }

    /// The elements as a slice in row-major order, if contiguous.
    #[inline]
    pub fn as_slice(&self) -> Option<&[T]> {
        self.layout.contiguous_range().map(|r| &self.storage.as_slice()[r])
    }

    /// The elements in row-major order.
    pub fn to_vec(&self) -> Vec<T> {
        match self.as_slice() {
            Some(slice) => slice.to_vec(),
            None => {
                let mut out = Vec::with_capacity(self.numel());
                let data = self.storage.as_slice();
                walk(&self.layout.shape, [&self.layout.strides], [self.layout.offset], |[o]| out.push(data[o]));
                out
            }
        }
    }

    /// The value of a one-element tensor (any rank).
    ///
    /// # Panics
    /// If the tensor has more or fewer than one element.
    #[track_caller]
    pub fn item(&self) -> T {
        crate::error::or_panic(self.try_item())
    }

    /// [`Tensor::item`], returning an error instead of panicking.
    ///
    /// # Errors
    /// [`TensorError::InvalidArgument`] unless the tensor has one element.
    pub fn try_item(&self) -> Result<T> {
        if self.numel() != 1 {
            return Err(TensorError::InvalidArgument {
                op: "item",
                reason: format!("needs exactly one element, the tensor has shape {:?}", self.shape()),
            });
        }
        Ok(self.storage.as_slice()[self.layout.offset])
    }

    /// The element at a multi-index.
    ///
    /// # Panics
    /// If the index has the wrong length or is out of range.
    #[track_caller]
    pub fn get(&self, index: &[usize]) -> T {
        assert_eq!(index.len(), self.rank(), "get: index {index:?} does not match shape {:?}", self.shape());
        let mut at = self.layout.offset;
        for (axis, (&i, (&dim, &stride))) in index.iter().zip(self.shape().iter().zip(self.strides())).enumerate() {
            assert!(i < dim, "get: index {i} out of range for axis {axis} of size {dim} (shape {:?})", self.shape());
            at += i * stride;
        }
        self.storage.as_slice()[at]
    }

    /// A contiguous tensor with the same elements: `self` (shared) if already
    /// contiguous, otherwise a copy.
    pub fn contiguous(&self) -> Self {
        if self.is_contiguous() {
            return self.clone();
        }
        let mut buf = alloc(self.numel());
        let data = self.storage.as_slice();
        let mut i = 0;
        walk(&self.layout.shape, [&self.layout.strides], [self.layout.offset], |[o]| {
            buf[i] = data[o];
            i += 1;
        });
        Self::from_parts(buf, self.shape())
    }

    /// The elements as a mutable row-major slice, copying first if the
    /// storage is shared with another tensor or the layout is not a dense
    /// view of the whole buffer (copy-on-write). Optimisers update
    /// parameters in place through this.
    pub fn data_mut(&mut self) -> &mut [T] {
        if !self.owns_data() {
            *self = Self::from_parts(self.to_vec(), &self.layout.shape.clone());
        }
        Arc::get_mut(&mut self.storage).expect("storage was just made unique").as_mut_slice()
    }

    /// Whether this tensor is the only owner of a dense buffer holding exactly
    /// its elements, so that [`Tensor::data_mut`] will not copy.
    ///
    /// # Examples
    /// ```
    /// use gradus_tensor::Tensor;
    /// let a = Tensor::<f32>::zeros(&[3]);
    /// assert!(a.owns_data());
    /// let b = a.clone();
    /// assert!(!a.owns_data() && !b.owns_data());
    /// ```
    pub fn owns_data(&self) -> bool {
        self.is_contiguous()
            && self.layout.offset == 0
            && self.numel() == self.storage.as_slice().len()
            && Arc::strong_count(&self.storage) == 1
            && Arc::weak_count(&self.storage) == 0
    }

    /// The elements as an owned `Vec`, without copying when this tensor is
    /// the only owner of a dense buffer.
    pub fn into_vec(self) -> Vec<T> {
        let whole = self.is_contiguous() && self.layout.offset == 0 && self.numel() == self.storage.as_slice().len();
        if whole {
            match Arc::try_unwrap(self.storage) {
                Ok(storage) => storage.into_vec(),
                Err(shared) => shared.as_slice().to_vec(),
            }
        } else {
            self.to_vec()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_vec_checks_the_length() {
        let err = Tensor::from_vec(vec![1.0f32; 5], &[2, 3]).err().unwrap();
        assert_eq!(err.to_string(), "from_vec: shape [2, 3] needs 6 elements, got 5");
    }

    #[test]
    fn data_mut_copies_when_shared() {
        let a = Tensor::from_vec(vec![1.0f64, 2.0], &[2]).unwrap();
        let mut b = a.clone();
        b.data_mut()[0] = 9.0;
        assert_eq!(a.to_vec(), vec![1.0, 2.0]);
        assert_eq!(b.to_vec(), vec![9.0, 2.0]);
        let ptr = b.data_mut().as_ptr();
        assert_eq!(b.data_mut().as_ptr(), ptr, "a unique tensor is updated in place");
    }

    #[test]
    fn item_needs_one_element() {
        assert_eq!(Tensor::scalar(3.5f32).item(), 3.5);
        assert!(Tensor::<f32>::full(&[2], 1.0).try_item().is_err());
    }
}
