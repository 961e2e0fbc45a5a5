//! The shard a forward pass computes: which rows of the full batch this
//! process holds, and the group of replicas that hold the others. A
//! single process runs every forward pass on the whole batch
//! ([`Shard::whole`], the default); a data-parallel trainer runs each
//! replica's part inside [`in_shard`], so that
//!
//! - [`Dropout`](crate::Dropout) draws the mask of each example from its
//!   row in the full batch, and the masks do not depend on how the batch
//!   was split;
//! - batch norm in training takes its mean and variance over the full
//!   batch (synchronised batch norm), unless the shard asks for local
//!   statistics.

use gradus_autodiff::Across;
use std::cell::RefCell;
use std::rc::Rc;

/// The part of a batch a forward pass sees.
#[derive(Clone, Debug, Default)]
pub struct Shard {
    /// The row of the full batch that this part's first row is.
    pub first_row: usize,
    /// The replicas holding the other parts, when batch norm is to take
    /// its statistics over the full batch; `None` for local statistics.
    pub group: Option<Rc<dyn Across>>,
}

impl Shard {
    /// The whole batch, on one process.
    pub fn whole() -> Self {
        Self::default()
    }
}

thread_local! {
    static CURRENT: RefCell<Shard> = RefCell::new(Shard::whole());
}

/// Runs `f` with `shard` as the current shard of this thread (restored
/// afterwards, also on a panic).
///
/// ```
/// use gradus_autodiff::{Tape, Var};
/// use gradus_nn::{Dropout, Module, Shard, in_shard};
/// use gradus_tensor::Tensor;
/// // The rows 2..4 of a batch of 4, dropped on their own, get the masks
/// // they get in the whole batch.
/// let x = Var::constant(Tensor::<f64>::ones(&[4, 50]));
/// let whole = Dropout::seeded(0.5, 9).forward(&Tape::new(), &x).into_value().to_vec();
/// let part = in_shard(Shard { first_row: 2, group: None }, || {
///     Dropout::seeded(0.5, 9).forward(&Tape::new(), &x.narrow(0, 2, 2)).into_value().to_vec()
/// });
/// assert_eq!(part, whole[100..].to_vec());
/// ```
pub fn in_shard<R>(shard: Shard, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Shard>);
    impl Drop for Restore {
        fn drop(&mut self) {
            if let Some(s) = self.0.take() {
                CURRENT.with(|c| *c.borrow_mut() = s);
            }
        }
    }
    let previous = CURRENT.with(|c| std::mem::replace(&mut *c.borrow_mut(), shard));
    let _restore = Restore(Some(previous));
    f()
}

/// The current shard's first row.
pub(crate) fn first_row() -> usize {
    CURRENT.with(|c| c.borrow().first_row)
}

/// The current shard's group, when statistics are to be synchronised.
pub(crate) fn group() -> Option<Rc<dyn Across>> {
    CURRENT.with(|c| c.borrow().group.clone())
}
