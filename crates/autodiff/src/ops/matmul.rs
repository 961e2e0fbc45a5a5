//! Matrix products with NumPy's semantics, batched with broadcasting:
//! ∂L/∂A = G Bᵀ and ∂L/∂B = Aᵀ G, summed over broadcast
//! batch dims. The transposes are views, so backward copies no operand.
//! `linear` is a dense layer's x·Wᵀ + b as one op.

use crate::var::record;
use crate::{InputGrads, Var, is_recording};
use gradus_tensor::Float;

/// The size of product (multiply-adds) from which [`Var::linear`]'s backward
/// runs its two gradient products side by side: below it, waking a second
/// thread costs more than it saves.
const JOIN_MIN_MACS: usize = 1 << 21;

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
            // Products for constant operands (a network's input) are skipped.
            smallvec::smallvec![
                x[0].requires_grad().then(|| g.matmul(&x[1].t()).sum_to(x[0].shape())),
                x[1].requires_grad().then(|| x[0].t().matmul(g).sum_to(x[1].shape()))
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

    /// x·Wᵀ + b, a dense layer's affine map (PyTorch's `F.linear`): `self`
    /// `[batch, in]`, `weight` `[out, in]`, `bias` `[out]`. As one op, the
    /// bias is added in the product's output pass, and backward computes
    /// ∂L/∂W = Gᵀx straight into W's layout and ∂L/∂b = Σ_rows G, so no
    /// transposed gradient is left to copy. A `self` of more axes
    /// (`[N, T, in]`) is one product over all its rows; a vector falls back
    /// to `matmul` and a broadcast add.
    ///
    /// # Panics
    /// If the shapes do not fit.
    #[track_caller]
    pub fn linear(&self, weight: &Self, bias: Option<&Self>) -> Self {
        assert_eq!(weight.rank(), 2, "linear: the weight must be [out, in], got shape {:?}", weight.shape());
        let out = weight.shape()[0];
        if let Some(b) = bias {
            assert_eq!(b.shape(), [out], "linear: the bias must be [{out}], got shape {:?}", b.shape());
        }
        if self.rank() > 2 {
            // A sequence [N, T, in] (or more leading axes): one product over
            // every position.
            let width = *self.shape().last().expect("rank > 2") as isize;
            let mut shape: Vec<isize> = self.shape().iter().map(|&d| d as isize).collect();
            *shape.last_mut().expect("rank > 2") = out as isize;
            return self.reshape(&[-1, width]).linear(weight, bias).reshape(&shape);
        }
        if self.rank() != 2 {
            let y = self.matmul(&weight.t());
            return bias.map_or(y.clone(), |b| &y + b);
        }
        let mut y = self.value.matmul(&weight.value.t());
        if let Some(b) = bias {
            let b = b.value.contiguous();
            let b = b.as_slice().expect("made contiguous");
            for row in y.data_mut().chunks_mut(out) {
                row.iter_mut().zip(b).for_each(|(y, &b)| *y += b);
            }
        }
        let inputs: &[&Var<T>] = match bias {
            Some(b) => &[self, weight, b],
            None => &[self, weight],
        };
        let macs = self.shape()[0] * weight.shape()[0] * weight.shape()[1];
        let y = record("linear", y, inputs, move |v, _, g| {
            // ∂L/∂x is skipped for a constant input (the first layer's data).
            let (need_x, need_w) = (v[0].requires_grad(), v[1].requires_grad());
            let mut grads: InputGrads<T> = if need_x && need_w && macs >= JOIN_MIN_MACS && !is_recording() {
                // A backward pass that is not recorded works on plain values,
                // so the two independent products can run side by side: on
                // two threads that halves a hidden layer's backward, whose
                // products are each too small to split on their own.
                let (g, w, x) = (g.value(), v[1].value(), v[0].value());
                let (gx, gw) = gradus_tensor::join(|| g.matmul(w), || g.t().matmul(x));
                smallvec::smallvec![Some(Var::constant(gx)), Some(Var::constant(gw))]
            } else {
                smallvec::smallvec![need_x.then(|| g.matmul(&v[1])), need_w.then(|| g.t().matmul(&v[0]))]
            };
            if v.len() == 3 {
                grads.push(v[2].requires_grad().then(|| g.sum(0, false)));
            }
            grads
        });
        crate::taps::tap(crate::TapKind::Linear, self, weight, bias, y)
    }
}
