//! Reference-counted buffers and the size-bucketed pool that recycles them.
//!
//! Touching a fresh 4 KiB page costs ~1.6 µs on our machines, and glibc hands
//! blocks above its mmap threshold back to the OS on every free, so a training
//! step that allocates its activations afresh spends more time faulting pages
//! than computing. Large buffers are therefore returned to a per-type pool
//! when their last tensor drops and handed out again by the next allocation
//! of a similar size: in the steady state a step reuses last step's memory.

use crate::Element;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Buffers smaller than this (in bytes) go straight to the allocator, which
/// serves them from its arenas without page faults.
const MIN_POOLED_BYTES: usize = 64 * 1024;
/// Default cap on the bytes the pool of one element type keeps cached.
const DEFAULT_LIMIT_BYTES: usize = 2 << 30;
/// Each power-of-two range is split into this many size classes, so a pooled
/// buffer wastes at most 1/8 of its capacity.
const CLASSES_PER_OCTAVE: usize = 8;

/// Tensors of at most this many elements keep them inline, inside the
/// reference-counted block: one allocation per small tensor instead of two
/// (scalars dominate the tape overhead of small problems).
const INLINE: usize = 4;

/// The elements of a tensor: inline when few, else a heap buffer that goes
/// back to its pool when dropped. Dereferences to a slice.
pub(crate) enum Buffer<T: Element> {
    Inline { len: u8, data: [T; INLINE] },
    Heap(Vec<T>),
}

impl<T: Element> std::ops::Deref for Buffer<T> {
    type Target = [T];
    #[inline]
    fn deref(&self) -> &[T] {
        match self {
            Buffer::Inline { len, data } => &data[..*len as usize],
            Buffer::Heap(v) => v,
        }
    }
}

impl<T: Element> std::ops::DerefMut for Buffer<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [T] {
        match self {
            Buffer::Inline { len, data } => &mut data[..*len as usize],
            Buffer::Heap(v) => v,
        }
    }
}

impl<T: Element> From<Vec<T>> for Buffer<T> {
    fn from(v: Vec<T>) -> Self {
        if v.len() <= INLINE && v.capacity() <= INLINE {
            let mut data = [T::default(); INLINE];
            data[..v.len()].copy_from_slice(&v);
            Buffer::Inline { len: v.len() as u8, data }
        } else {
            Buffer::Heap(v)
        }
    }
}

impl<T: Element> Drop for Buffer<T> {
    fn drop(&mut self) {
        if let (Buffer::Heap(v), Some(pool)) = (self, T::pool()) {
            pool.put(std::mem::take(v));
        }
    }
}

/// The storage behind one or more tensors.
pub(crate) struct Storage<T: Element> {
    data: Buffer<T>,
}

impl<T: Element> Storage<T> {
    #[inline]
    pub(crate) fn new(data: impl Into<Buffer<T>>) -> Self {
        Self { data: data.into() }
    }
    #[inline]
    pub(crate) fn as_slice(&self) -> &[T] {
        &self.data
    }
    /// Whether the elements are inline (no heap memory to release).
    #[inline]
    pub(crate) fn is_inline(&self) -> bool {
        matches!(self.data, Buffer::Inline { .. })
    }
    #[inline]
    pub(crate) fn as_mut_slice(&mut self) -> &mut [T] {
        &mut self.data
    }
    /// The elements as a `Vec`, moved out (the storage is left empty) when
    /// on the heap.
    pub(crate) fn take_vec(&mut self) -> Vec<T> {
        match &mut self.data {
            Buffer::Heap(v) => std::mem::take(v),
            Buffer::Inline { .. } => self.data.to_vec(),
        }
    }
}

/// A buffer of `len` initialised elements: inline when small, else
/// recycled from the pool when one of a fitting size is cached. Its
/// contents are unspecified: callers overwrite every element.
#[inline]
pub(crate) fn alloc<T: Element>(len: usize) -> Buffer<T> {
    if len <= INLINE {
        return Buffer::Inline { len: len as u8, data: [T::default(); INLINE] };
    }
    if let Some(pool) = T::pool()
        && let Some(mut buf) = pool.take(len)
    {
        if buf.len() >= len {
            buf.truncate(len);
        } else {
            buf.resize(len, T::default());
        }
        return Buffer::Heap(buf);
    }
    let mut buf = crate::advised_vec(class_capacity_for::<T>(len));
    buf.resize(len, T::default());
    Buffer::Heap(buf)
}

/// A vector of `len` elements whose buffer comes from the pool when one
/// of a fitting size is cached; its contents are unspecified, so overwrite
/// every element (or `clear` it and `extend`: its capacity stays). For a
/// kernel's large scratch and results: [`Tensor::from_vec`] of it returns
/// the buffer to the pool when the tensor drops, [`recycle`] does so
/// directly. A step that takes its scratch this way reuses last step's
/// pages instead of faulting fresh ones.
///
/// [`Tensor::from_vec`]: crate::Tensor::from_vec
///
/// ```
/// use gradus_tensor::{pool_stats, pooled_vec, recycle};
/// let mut v = pooled_vec::<f32>(1 << 20);
/// v.fill(1.0);
/// recycle(v);
/// // The next request of that size is served from the pool.
/// let hits = pool_stats::<f32>().unwrap().hits;
/// let again = pooled_vec::<f32>(1 << 20);
/// assert_eq!((again.len(), pool_stats::<f32>().unwrap().hits), (1 << 20, hits + 1));
/// ```
pub fn pooled_vec<T: Element>(len: usize) -> Vec<T> {
    let mut buf = alloc::<T>(len);
    match &mut buf {
        Buffer::Heap(v) => std::mem::take(v),
        Buffer::Inline { .. } => buf.to_vec(),
    }
}

/// Gives `v`'s buffer to the pool for the next allocation of its size
/// (buffers from [`pooled_vec`] and tensors; others are simply freed).
pub fn recycle<T: Element>(v: Vec<T>) {
    if let Some(pool) = T::pool() {
        pool.put(v);
    }
}

/// A buffer of `len` copies of `value`, recycled when possible.
pub(crate) fn alloc_filled<T: Element>(len: usize, value: T) -> Buffer<T> {
    let mut buf = alloc(len);
    buf.fill(value);
    buf
}

fn pooled<T>(len: usize) -> bool {
    len * size_of::<T>() >= MIN_POOLED_BYTES
}

/// The class of the largest size-class capacity not above `cap`.
fn class_floor(cap: usize) -> usize {
    let octave = usize::BITS - 1 - cap.leading_zeros();
    let step = (1usize << octave) / CLASSES_PER_OCTAVE;
    match cap.checked_div(step) {
        Some(q) => q * step,
        None => cap,
    }
}

/// The capacity of the smallest size class that holds `len`.
fn class_ceil(len: usize) -> usize {
    let octave = usize::BITS - 1 - len.leading_zeros();
    let step = (1usize << octave) / CLASSES_PER_OCTAVE;
    if step == 0 { len } else { len.div_ceil(step) * step }
}

fn class_capacity_for<T>(len: usize) -> usize {
    if pooled::<T>(len) { class_ceil(len) } else { len }
}

/// A cache of large buffers of one element type, keyed by size class.
///
/// One pool per element type lives for the whole program; see
/// [`pool_stats`](crate::pool_stats) and [`set_pool_limit`](crate::set_pool_limit).
pub struct Pool<T> {
    buckets: Mutex<Option<HashMap<usize, Vec<Vec<T>>>>>,
    cached_bytes: AtomicUsize,
    limit_bytes: AtomicUsize,
    hits: AtomicUsize,
    misses: AtomicUsize,
}

impl<T: Element> Pool<T> {
    pub(crate) const fn new() -> Self {
        Self {
            buckets: Mutex::new(None),
            cached_bytes: AtomicUsize::new(0),
            limit_bytes: AtomicUsize::new(DEFAULT_LIMIT_BYTES),
            hits: AtomicUsize::new(0),
            misses: AtomicUsize::new(0),
        }
    }

    fn take(&self, len: usize) -> Option<Vec<T>> {
        if !pooled::<T>(len) {
            return None;
        }
        let class = class_ceil(len);
        let mut guard = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let found = guard.as_mut().and_then(|b| b.get_mut(&class)).and_then(Vec::pop);
        drop(guard);
        match found {
            Some(buf) => {
                self.cached_bytes.fetch_sub(buf.capacity() * size_of::<T>(), Ordering::Relaxed);
                self.hits.fetch_add(1, Ordering::Relaxed);
                Some(buf)
            }
            None => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    fn put(&self, buf: Vec<T>) {
        let cap = buf.capacity();
        // Only buffers of a class's exact capacity (the pool's own): any
        // other (a `Vec` from `from_vec`) would be filed under the class
        // below its size, never serve a request of its own size, and pile
        // up to the limit while the same-size requests keep allocating.
        if !pooled::<T>(cap) || class_ceil(cap) != cap {
            return;
        }
        let bytes = cap * size_of::<T>();
        let limit = self.limit_bytes.load(Ordering::Relaxed);
        if self.cached_bytes.fetch_add(bytes, Ordering::Relaxed) + bytes > limit {
            self.cached_bytes.fetch_sub(bytes, Ordering::Relaxed);
            return;
        }
        let mut guard = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        guard.get_or_insert_with(HashMap::new).entry(class_floor(cap)).or_default().push(buf);
    }

    fn clear(&self) {
        let mut guard = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(buckets) = guard.take() {
            let bytes: usize = buckets.values().flatten().map(|b| b.capacity() * size_of::<T>()).sum();
            self.cached_bytes.fetch_sub(bytes, Ordering::Relaxed);
        }
    }

    fn stats(&self) -> PoolStats {
        PoolStats {
            cached_bytes: self.cached_bytes.load(Ordering::Relaxed),
            limit_bytes: self.limit_bytes.load(Ordering::Relaxed),
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }
}

/// Counters of one element type's buffer pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Bytes held in cached buffers now.
    pub cached_bytes: usize,
    /// The most bytes the pool keeps.
    pub limit_bytes: usize,
    /// Large allocations served from the cache.
    pub hits: usize,
    /// Large allocations that went to the system allocator.
    pub misses: usize,
}

/// Statistics of the buffer pool of element type `T` (every element type
/// has one: floats, `bool` masks and `usize` indices; `None` is for element
/// types outside this crate that keep none).
///
/// # Examples
/// ```
/// let stats = gradus_tensor::pool_stats::<f32>().unwrap();
/// assert!(stats.cached_bytes <= stats.limit_bytes);
/// ```
pub fn pool_stats<T: Element>() -> Option<PoolStats> {
    T::pool().map(Pool::stats)
}

/// Sets the most bytes the pool of `T` caches (default 2 GiB); `0` disables
/// caching. Buffers already cached stay until reused or [`clear_pool`].
pub fn set_pool_limit<T: Element>(bytes: usize) {
    if let Some(pool) = T::pool() {
        pool.limit_bytes.store(bytes, Ordering::Relaxed);
    }
}

/// Frees every buffer the pool of `T` has cached.
pub fn clear_pool<T: Element>() {
    if let Some(pool) = T::pool() {
        pool.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_classes_bound_the_waste() {
        for len in [1usize, 7, 8, 100, 4096, 16_385, 1_000_000, 10_000_000] {
            let ceil = class_ceil(len);
            assert!(ceil >= len && ceil - len <= len / CLASSES_PER_OCTAVE + 1, "{len} -> {ceil}");
            assert_eq!(class_floor(ceil), ceil, "a class capacity is its own floor");
            assert!(class_floor(len) <= len);
        }
    }

    #[test]
    fn small_buffers_are_inline() {
        let small: Buffer<f32> = alloc(3);
        assert!(matches!(small, Buffer::Inline { len: 3, .. }));
        let from_vec: Buffer<f32> = vec![1.0, 2.0].into();
        assert_eq!(&*from_vec, &[1.0, 2.0]);
        assert_eq!(Storage::new(from_vec).take_vec(), vec![1.0, 2.0]);
    }

    #[test]
    fn a_dropped_buffer_is_reused() {
        // A length no other test uses, so parallel tests do not steal it.
        let len = 123_457;
        let buf: Buffer<f64> = alloc(len);
        let ptr = buf.as_ptr();
        drop(Storage::new(buf));
        let again: Buffer<f64> = alloc(len - 3);
        assert_eq!(again.as_ptr(), ptr);
        assert_eq!(again.len(), len - 3);
    }
}
