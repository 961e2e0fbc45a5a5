//! Scaled dot-product attention, softmax(Q·Kᵀ/√d + M)·V, written as the
//! composite of differentiable ops (batched products, an additive mask,
//! softmax along the last axis, an optional dropout mask), so its
//! gradients have gradients too.
//!
//! The causal mask is one `[T, S]` table of 0 and −∞, broadcast over the
//! batch and heads, never a tensor per example.

use crate::Var;
use gradus_tensor::{Float, Tensor};

impl<T: Float> Var<T> {
    /// Scaled dot-product attention of queries `self` `[…, T, d]` over
    /// keys `key` `[…, S, d]` and values `value` `[…, S, dv]`:
    /// softmax(Q·Kᵀ/√d + M)·V, `[…, T, dv]`, as PyTorch's
    /// `F.scaled_dot_product_attention`. M is [`Tensor::causal_mask`] when
    /// `causal`, else 0; `dropout` is a mask of 0 and 1/(1 − p) of shape
    /// `[…, T, S]` multiplied into the attention weights (training).
    ///
    /// # Panics
    /// If the shapes do not fit.
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
    pub fn attention(&self, key: &Self, value: &Self, causal: bool, dropout: Option<&Tensor<T>>) -> Self {
        let d = *self.shape().last().expect("attention: queries need a feature axis");
        let (t, s) = (self.shape()[self.rank() - 2], key.shape()[key.rank() - 2]);
        let scores = self.matmul(&key.transpose(-2, -1)).mul_scalar(T::of(1.0 / (d as f64).sqrt()));
        let scores = if causal { &scores + &Var::constant(Tensor::causal_mask(t, s)) } else { scores };
        let weights = scores.softmax(-1);
        let weights = match dropout {
            Some(mask) => &weights * &Var::constant(mask.clone()),
            None => weights,
        };
        weights.matmul(value)
    }
}
