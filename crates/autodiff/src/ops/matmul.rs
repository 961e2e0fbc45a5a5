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
        let lhs = if self.rank() == 1 { self.unsqueeze(0) } else { self.clone() };
        let rhs2 = if rhs.rank() == 1 { rhs.unsqueeze(1) } else { rhs.clone() };
        let mut out = record("matmul", lhs.value.matmul(&rhs2.value), &[&lhs, &rhs2], |x, _, g| {
            smallvec::smallvec![
                Some(g.matmul(&x[1].t()).sum_to(x[0].shape())),
                Some(x[0].t().matmul(g).sum_to(x[1].shape()))
            ]
        });
        // Remove the promoted axes, the left one first (as NumPy).
        if self.rank() == 1 {
            out = out.squeeze(Some(-2));
        }
        if rhs.rank() == 1 {
            out = out.squeeze(Some(-1));
        }
        out
    }
}
