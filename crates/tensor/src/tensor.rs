//! `Tensor<T>`: shared storage plus a layout, and its basic accessors.

use crate::Element;
use crate::error::{Result, TensorError};
use crate::header::{Data, Inner};
use crate::layout::{Layout, walk};
use crate::spares;
use crate::storage::{Buffer, Storage, alloc};
use std::mem::ManuallyDrop;
use std::sync::Arc;
use std::sync::atomic::{Ordering, fence};

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
pub struct Tensor<T: Element>(ManuallyDrop<Arc<Inner<T>>>);

impl<T: Element> Clone for Tensor<T> {
    #[inline]
    fn clone(&self) -> Self {
        Self::new(Arc::clone(&self.0))
    }
}

/// The header behind `header`, mutable.
///
/// # Safety
/// `header` must be the only `Arc` of its block, with no `Weak`, and any
/// other thread's earlier use of it must happen before this call.
#[inline]
unsafe fn unique<T: Element>(header: &mut Arc<Inner<T>>) -> &mut Inner<T> {
    // SAFETY: the caller guarantees exclusive access; `as_ptr` derives the
    // pointer from the allocation, not from a shared reference.
    unsafe { &mut *Arc::as_ptr(header).cast_mut() }
}

impl<T: Element> Drop for Tensor<T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: `self.0` is taken once, here, and not used again.
        let mut header = unsafe { ManuallyDrop::take(&mut self.0) };
        // A plain load, not `get_mut`'s compare-exchange: a shared header
        // (most drops) then costs one atomic decrement, a unique one none.
        if Arc::strong_count(&header) == 1 {
            // Pairs with the release decrements of the tensors that shared
            // the header before, as `Arc`'s own drop does.
            fence(Ordering::Acquire);
            // SAFETY: one strong count, which is ours, and a header never
            // has a `Weak`: nothing else can reach it.
            let inner = unsafe { unique(&mut header) };
            // The last user: release the buffer (a heap one goes back to its
            // pool; a viewed owner loses a user) and keep the header.
            if !matches!(&inner.data, Data::Own(storage) if storage.is_inline()) {
                inner.data = Data::Own(Storage::new(alloc(0)));
            }
            // A spare holds nothing to release (`header` relies on it): an
            // inline buffer, and dims inline too.
            if inner.layout.is_inline() {
                spares::give(header);
            }
        }
    }
}

impl<T: Element> Tensor<T> {
    /// A contiguous tensor owning `data` laid out as `shape`.
    #[inline]
    pub(crate) fn from_parts(data: impl Into<Buffer<T>>, shape: &[usize]) -> Self {
        let data = data.into();
        debug_assert_eq!(data.len(), shape.iter().product::<usize>());
        Self::header(Layout::contiguous(shape), Data::Own(Storage::new(data)))
    }

    /// A view of the same storage with another layout.
    pub(crate) fn with_layout(&self, layout: Layout) -> Self {
        Self::header(layout, Data::View(Arc::clone(self.0.owner())))
    }

    /// A tensor of `layout` over `data`, in a spare header if the thread
    /// has one.
    #[inline]
    fn header(layout: Layout, data: Data<T>) -> Self {
        match spares::take::<T>() {
            Some(mut header) => {
                // SAFETY: a spare has no other user: `Drop` gives away only
                // a header it found unique, and the list moves it. (`get_mut`
                // would check again with an atomic compare-exchange, a tenth
                // of the cost of making a small tensor.)
                let inner = unsafe { unique(&mut header) };
                // SAFETY: the old layout and data own no memory (see `Drop`),
                // so overwriting them without dropping leaks nothing.
                unsafe {
                    std::ptr::write(&mut inner.layout, layout);
                    std::ptr::write(&mut inner.data, data);
                }
                Self::new(header)
            }
            None => Self::new(Arc::new(Inner { layout, data })),
        }
    }

    #[inline]
    fn new(header: Arc<Inner<T>>) -> Self {
        Self(ManuallyDrop::new(header))
    }

    /// Shape, strides and offset.
    #[inline]
    pub(crate) fn layout(&self) -> &Layout {
        &self.0.layout
    }

    /// The whole buffer this tensor's layout indexes into.
    #[inline]
    pub(crate) fn storage(&self) -> &[T] {
        self.0.storage().as_slice()
    }

    /// The buffer, mutable, if this tensor is its only user and its layout
    /// covers it densely: a unique owner, or the only view of an owner no
    /// one else holds.
    fn unique_storage(&mut self) -> Option<&mut Storage<T>> {
        if !self.covers_buffer() {
            return None;
        }
        match &mut Arc::get_mut(&mut self.0)?.data {
            Data::Own(storage) => Some(storage),
            Data::View(owner) => match &mut Arc::get_mut(owner)?.data {
                Data::Own(storage) => Some(storage),
                Data::View(_) => None,
            },
        }
    }

    /// Whether the layout covers the whole buffer densely, in order.
    fn covers_buffer(&self) -> bool {
        self.is_contiguous() && self.layout().offset == 0 && self.numel() == self.storage().len()
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
        &self.layout().shape
    }

    /// Whether the dimensions are `shape`. (A comparison inlined element by
    /// element: the slices' `==` calls `memcmp`, which costs more than
    /// comparing the few dims of a tensor.)
    ///
    /// # Examples
    /// ```
    /// use gradus_tensor::Tensor;
    /// assert!(Tensor::<f32>::zeros(&[2, 3]).has_shape(&[2, 3]));
    /// assert!(!Tensor::<f32>::zeros(&[2, 3]).has_shape(&[3, 2]));
    /// ```
    #[inline]
    pub fn has_shape(&self, shape: &[usize]) -> bool {
        let own = self.shape();
        own.len() == shape.len() && own.iter().zip(shape).all(|(a, b)| a == b)
    }

    /// The strides, in elements.
    #[inline]
    pub fn strides(&self) -> &[usize] {
        &self.layout().strides
    }

    /// The number of dimensions (0 for a scalar).
    #[inline]
    pub fn rank(&self) -> usize {
        self.layout().shape.len()
    }

    /// The number of elements.
    #[inline]
    pub fn numel(&self) -> usize {
        self.layout().numel()
    }

    /// The length of `axis` (negative counts from the end).
    ///
    /// # Panics
    /// If the axis is out of range.
    #[track_caller]
    pub fn dim(&self, axis: isize) -> usize {
        self.layout().shape[crate::error::or_panic(crate::layout::resolve_axis("dim", axis, self.shape()))]
    }

    /// Whether the elements are dense and row-major.
    #[inline]
    pub fn is_contiguous(&self) -> bool {
        self.layout().is_contiguous()
    }

    /// Whether two tensors share storage (one is a view of the other).
    pub fn shares_storage_with(&self, other: &Self) -> bool {
        Arc::ptr_eq(self.0.owner(), other.0.owner())
    }

    /// The elements as a slice in row-major order, if contiguous.
    #[inline]
    pub fn as_slice(&self) -> Option<&[T]> {
        self.layout().contiguous_range().map(|r| &self.storage()[r])
    }

    /// The elements in row-major order.
    pub fn to_vec(&self) -> Vec<T> {
        match self.as_slice() {
            Some(slice) => slice.to_vec(),
            None => {
                let mut out = Vec::with_capacity(self.numel());
                let data = self.storage();
                walk(&self.layout().shape, [&self.layout().strides], [self.layout().offset], |[o]| out.push(data[o]));
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
        Ok(self.storage()[self.layout().offset])
    }

    /// The element at a multi-index.
    ///
    /// # Panics
    /// If the index has the wrong length or is out of range.
    #[track_caller]
    pub fn get(&self, index: &[usize]) -> T {
        assert_eq!(index.len(), self.rank(), "get: index {index:?} does not match shape {:?}", self.shape());
        let mut at = self.layout().offset;
        for (axis, (&i, (&dim, &stride))) in index.iter().zip(self.shape().iter().zip(self.strides())).enumerate() {
            assert!(i < dim, "get: index {i} out of range for axis {axis} of size {dim} (shape {:?})", self.shape());
            at += i * stride;
        }
        self.storage()[at]
    }

    /// A contiguous tensor with the same elements: `self` (shared) if already
    /// contiguous, otherwise a copy.
    pub fn contiguous(&self) -> Self {
        if self.is_contiguous() {
            return self.clone();
        }
        let mut buf = alloc(self.numel());
        let data = self.storage();
        let mut i = 0;
        walk(&self.layout().shape, [&self.layout().strides], [self.layout().offset], |[o]| {
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
        if self.unique_storage().is_none() {
            *self = Self::from_parts(self.to_vec(), self.shape());
        }
        self.unique_storage().expect("a fresh copy is its buffer's only user").as_mut_slice()
    }

    /// Whether this tensor is the only user of a dense buffer holding exactly
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
        let unique = |inner: &Arc<Inner<T>>| Arc::strong_count(inner) == 1 && Arc::weak_count(inner) == 0;
        self.covers_buffer() && unique(&self.0) && unique(self.0.owner())
    }

    /// The elements as an owned `Vec`, without copying when this tensor is
    /// the only user of a dense buffer.
    pub fn into_vec(mut self) -> Vec<T> {
        match self.unique_storage() {
            Some(storage) => storage.take_vec(),
            None => self.to_vec(),
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
    fn a_view_alone_is_written_in_place() {
        let a = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
        let mut v = a.reshape(&[3, 2]);
        assert!(v.shares_storage_with(&a) && !v.owns_data() && !a.owns_data());
        let before = a.as_slice().unwrap().as_ptr();
        drop(a);
        assert!(v.owns_data(), "the view is its owner's only user");
        v.data_mut()[0] = 9.0;
        assert_eq!(v.as_slice().unwrap().as_ptr(), before, "no copy");
        assert_eq!(v.into_vec(), vec![9.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    }

    #[test]
    fn a_dropped_header_is_reused_by_the_next_tensor() {
        let a = Tensor::scalar(1.0f64);
        let header = Arc::as_ptr(&a.0);
        drop(a);
        let b = Tensor::from_vec(vec![2.0f64, 3.0], &[2]).unwrap();
        assert_eq!(Arc::as_ptr(&b.0), header);
        assert_eq!((b.shape(), b.to_vec()), (&[2][..], vec![2.0, 3.0]));
        // A shared header is not recycled while another tensor uses it.
        let c = b.clone();
        drop(b);
        let d = Tensor::scalar(4.0f64);
        assert_ne!(Arc::as_ptr(&d.0), Arc::as_ptr(&c.0));
        assert_eq!((c.to_vec(), d.item()), (vec![2.0, 3.0], 4.0));
    }

    #[test]
    fn item_needs_one_element() {
        assert_eq!(Tensor::scalar(3.5f32).item(), 3.5);
        assert!(Tensor::<f32>::full(&[2], 1.0).try_item().is_err());
    }
}
