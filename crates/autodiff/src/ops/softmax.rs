//! softmax and log_softmax along an axis, with fused backward rules (the
//! composed forms would be less stable): for y = softmax(x),
//! x̄ = y ⊙ (ȳ − Σ ȳ ⊙ y); for y = log_softmax(x), x̄ = ȳ − eʸ Σ ȳ.

use crate::Var;
use crate::var::record;
use gradus_tensor::Float;

impl<T: Float> Var<T> {
    /// softmax along `axis`, computed with the maximum subtracted.
    ///
    /// # Panics
    /// If the axis is out of range.
    #[track_caller]
    pub fn softmax(&self, axis: isize) -> Self {
        record("softmax", self.value.softmax(axis), &[self], move |_, y, g| {
            let dot = g.mul(y).sum(axis, true);
            smallvec::smallvec![Some(y.mul(&g.sub(&dot)))]
        })
    }

    /// log softmax along `axis`, computed with the maximum subtracted.
    ///
    /// # Panics
    /// If the axis is out of range.
    #[track_caller]
    pub fn log_softmax(&self, axis: isize) -> Self {
        record("log_softmax", self.value.log_softmax(axis), &[self], move |_, y, g| {
            let total = g.sum(axis, true);
            smallvec::smallvec![Some(g.sub(&y.exp().mul(&total)))]
        })
    }
}
