//! Matrix products with NumPy's semantics, batched with broadcasting:
//! ∂L/∂A = G Bᵀ and ∂L/∂B = Aᵀ G (ALGORITHMS.md §3), summed over broadcast
//! batch dims. The transposes are views, so backward copies no operand.

use crate::Var;
use crate::var::record;
use gradus_tensor::Float;

impl<T: Float> Var<T> {
    /// The matrix product as `Tensor::matmul`: 1-d·1-d is a dot product, a
    /// 1-d operand is promoted to a row (left) or column (right) and the
    /// added axis removed, batch dims broadcast.
    ///
    /// # Panics
    /// If an operand is 0-d or the shapes do not fit.
    #[track_caller]
    pub fn matmul(&self, rhs: &Self) -> Self {
        if self.rank() == 1 {
            return self.unsqueeze(0).matmul(rhs).squeeze(Some(-2));
        }
        if rhs.rank() == 1 {
            return self.matmul(&rhs.unsqueeze(1)).squeeze(Some(-1));
        }
        record("matmul", self.value.matmul(&rhs.value), &[self, rhs], |x, _, g| {
            vec![Some(g.matmul(&x[1].t()).sum_to(x[0].shape())), Some(x[0].t().matmul(g).sum_to(x[1].shape()))]
        })
    }
}
