//! Recycling of tensor headers: the block each tensor points to (its layout
//! and buffer header) goes, when its last user drops it, to a short
//! per-thread list of spares that the next new tensor of the type takes.
//!
//! A tape over scalars makes and drops some twenty tensors per step, all of
//! them one block each. glibc's per-thread cache holds only seven blocks of a
//! size, so most of those allocations fell through to its slower bins; taking
//! a spare instead costs a thread-local pop.

use crate::Element;
use crate::header::Inner;
use std::cell::RefCell;
use std::sync::Arc;
use std::thread::LocalKey;

/// The most spare headers a thread keeps per element type (a header is
/// about 150 bytes).
const MAX_SPARES: usize = 256;

/// One thread's spare tensor headers of one element type: each uniquely
/// owned, holding no memory of its own (an inline buffer and inline dims;
/// `Tensor`'s `Drop` makes sure).
#[doc(hidden)]
pub struct Spares<T: Element>(Vec<Arc<Inner<T>>>);

impl<T: Element> Spares<T> {
    /// An empty list (const, for `thread_local!`).
    pub const fn new() -> Self {
        Self(Vec::new())
    }
}

impl<T: Element> Default for Spares<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// The calling thread's list for `T`, if `T` keeps one.
pub(crate) type Key<T> = &'static LocalKey<RefCell<Spares<T>>>;

/// A spare header for a new tensor of `T`, if the thread has one.
#[inline]
pub(crate) fn take<T: Element>() -> Option<Arc<Inner<T>>> {
    // `try_with`: during thread teardown the list may already be gone.
    T::spares()?.try_with(|s| s.borrow_mut().0.pop()).ok().flatten()
}

/// Keeps `header` (uniquely owned, holding no memory) for reuse, unless
/// the list is full; then it is freed.
#[inline]
pub(crate) fn give<T: Element>(header: Arc<Inner<T>>) {
    if let Some(spares) = T::spares() {
        let _ = spares.try_with(move |s| {
            let mut s = s.borrow_mut();
            if s.0.len() < MAX_SPARES {
                s.0.push(header);
            }
        });
    }
}
