//! Scaled dot-product attention, softmax(Q·Kᵀ/√d + M)·V, as one op.
//!
//! The forward pass and an unrecorded backward pass are the fused kernels
//! of [`Tensor::attention`] and [`Tensor::attention_backward`]: the op
//! keeps its inputs (Q, K and V), its output and one log-sum-exp per query
//! row, and no `[…, T, S]` tensor of scores, weights or dropout mask (the
//! mask is a hash of each weight's position: [`AttentionDropout`]). A backward pass recorded for second derivatives writes the
//! same gradients in differentiable ops (batched products, softmax, the
//! additive causal mask), so gradients of gradients work.
//!
//! The causal mask is one `[T, S]` table of 0 and −∞ in the recorded
//! form, broadcast over the batch and heads; the kernels never make it.

use crate::var::record;
use crate::{Var, is_recording};
use gradus_tensor::{AttentionDropout, Float, Tensor, broadcast_shapes};

impl<T: Float> Var<T> {
    /// Scaled dot-product attention of queries `self` `[…, T, d]` over
    /// keys `key` `[…, S, d]` and values `value` `[…, S, dv]`:
    /// softmax(Q·Kᵀ/√d + M)·V, `[…, T, dv]`, as PyTorch's
    /// `F.scaled_dot_product_attention`. M is [`Tensor::causal_mask`] when
    /// `causal`, else 0; `dropout` zeroes attention weights with its
    /// probability and scales the others (training).
    ///
    /// # Panics
    /// If the shapes do not fit, a feature axis is empty, or `causal` with
    /// fewer keys than queries.
    ///
    /// # Examples
    /// ```
    /// use gradus_autodiff::Var;
    /// use gradus_tensor::Tensor;
    /// // One query, two keys with equal scores: the mean of the values.
    /// let q = Var::constant(Tensor::from_vec(vec![1.0f64, 0.0], &[1, 2]).unwrap());
    /// let k = Var::constant(Tensor::from_vec(vec![0.0, 1.0, 0.0, 2.0], &[2, 2]).unwrap());
    /// let v = Var::constant(Tensor::from_vec(vec![1.0, 3.0], &[2, 1]).unwrap());
    /// assert_eq!(q.attention(&k, &v, false, None).value().to_vec(), [2.0]);
    /// ```
    #[track_caller]
    pub fn attention(&self, key: &Self, value: &Self, causal: bool, dropout: Option<AttentionDropout>) -> Self {
        let (out, lse) = self.value().attention(key.value(), value.value(), causal, dropout);
        record("attention", out, &[self, key, value], move |x, _, g| {
            let grads = if is_recording() {
                recorded_backward(&x[0], &x[1], &x[2], causal, dropout, g)
            } else {
                let (q, k, v) = (x[0].value(), x[1].value(), x[2].value());
                q.attention_backward(k, v, causal, dropout, &lse, g.value()).map(Var::constant)
            };
            grads.iter().zip(x).map(|(grad, input)| Some(grad.sum_to(input.shape()))).collect()
        })
    }
}

/// The gradients with respect to Q, K and V (at the broadcast batch shape)
/// in differentiable ops, from the weights recomputed the same way:
/// dV = Wᵀ·dO, dP = (dO·Vᵀ)∘D, dS = P∘(dP − Σ P∘dP)/√d, dQ = dS·K,
/// dK = dSᵀ·Q, with P the weights and W = P∘D the dropped ones (D the
/// dropout's multipliers written out at the broadcast batch shape).
fn recorded_backward<T: Float>(
    q: &Var<T>,
    k: &Var<T>,
    v: &Var<T>,
    causal: bool,
    dropout: Option<AttentionDropout>,
    g: &Var<T>,
) -> [Var<T>; 3] {
    let (t, d) = (q.shape()[q.rank() - 2], q.shape()[q.rank() - 1]);
    let s = k.shape()[k.rank() - 2];
    let scale = T::of(1.0 / (d as f64).sqrt());
    let scores = q.matmul(&k.transpose(-2, -1)).mul_scalar(scale);
    let scores = if causal { &scores + &Var::constant(Tensor::causal_mask(t, s)) } else { scores };
    let p = scores.softmax(-1);
    let drop = dropout.map(|drop| {
        let batch = [&k.shape()[..k.rank() - 2], &v.shape()[..v.rank() - 2]]
            .into_iter()
            .fold(q.shape()[..q.rank() - 2].to_vec(), |acc, b| {
                broadcast_shapes("attention", &acc, b).expect("checked by the forward pass").to_vec()
            });
        Var::constant(drop.mask(&[batch, vec![t, s]].concat()))
    });
    let w = match &drop {
        Some(m) => &p * m,
        None => p.clone(),
    };
    let dv = w.transpose(-2, -1).matmul(g);
    let dw = g.matmul(&v.transpose(-2, -1));
    let dp = match &drop {
        Some(m) => &dw * m,
        None => dw,
    };
    let dot = (&p * &dp).sum(-1, true);
    let ds = (&p * &(&dp - &dot)).mul_scalar(scale);
    [ds.matmul(k), ds.transpose(-2, -1).matmul(q), dv]
}
