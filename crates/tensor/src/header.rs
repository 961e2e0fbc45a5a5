//! A tensor's header ([`Inner`]): its layout and the buffer it owns or
//! the owner it views. `tensor.rs` makes and drops tensors around it;
//! `spares.rs` keeps the headers of dropped tensors for the next ones.

use crate::Element;
use crate::layout::Layout;
use crate::storage::Storage;
use std::sync::Arc;

/// What a tensor points to: its layout, and the buffer it owns or the
/// owner it views. One pointer wide, a tensor moves and clones as cheaply as
/// an `Arc` does: the tape of a small problem moves and clones tensors on
/// every recorded op. A header whose last tensor drops is kept for the
/// next new tensor (`spares.rs`).
pub(crate) struct Inner<T: Element> {
    pub(crate) layout: Layout,
    pub(crate) data: Data<T>,
}

pub(crate) enum Data<T: Element> {
    /// The buffer itself (a tensor made by an operation).
    Own(Storage<T>),
    /// A view of another tensor's buffer: the owner made the buffer and
    /// lives as long as its views do.
    View(Arc<Inner<T>>),
}

impl<T: Element> Inner<T> {
    /// The owner of the buffer: itself, or the tensor it views.
    #[inline]
    pub(crate) fn owner(self: &Arc<Self>) -> &Arc<Self> {
        match &self.data {
            Data::Own(_) => self,
            Data::View(owner) => owner,
        }
    }

    #[inline]
    pub(crate) fn storage(&self) -> &Storage<T> {
        match &self.data {
            Data::Own(storage) => storage,
            Data::View(owner) => owner.storage(),
        }
    }
}
