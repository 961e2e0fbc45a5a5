//! gradus-loss: the losses on `Var`s, with PyTorch's
//! definitions, values and gradients.
//!
//! - Regression: [`mse`], [`l1`], [`huber`], [`smooth_l1`], [`gaussian_nll`].
//! - Softmax classification: [`cross_entropy`] / [`cross_entropy_with`]
//!   (class weights, `ignore_index`, label smoothing), [`cross_entropy_probs`]
//!   (soft labels), [`nll`] / [`nll_with`] on log-probabilities.
//! - Binary: [`binary_cross_entropy_with_logits`] (`pos_weight`),
//!   [`binary_cross_entropy`] on probabilities.
//! - [`kl_div`], and the [`l2_penalty`] λ·Σ‖W‖².
//!
//! Every function takes a [`Reduction`]. Softmax cross-entropy and
//! sigmoid BCE are fused: one recorded op each whose backward rule is the
//! closed form (softmax(z) − onehot(y), σ(z) − y), stable at logits ±1000
//! in f64 and ±80 in f32, and itself differentiable (Hessians work).
//! Regression losses take their targets as `Var`s (differentiable in both);
//! classification losses take targets as constant tensors.
//!
//! For training loops that hold "some loss", the [`Loss`] trait and the
//! losses as values: [`CrossEntropy`], [`Nll`], [`BceWithLogits`], [`Regression`].

mod binary;
pub mod catalogue;
mod classification;
mod divergence;
mod error;
mod penalty;
mod reduction;
mod regression;
mod traits;

pub use binary::{binary_cross_entropy, binary_cross_entropy_with_logits};
pub use classification::{CrossEntropyOptions, cross_entropy, cross_entropy_probs, cross_entropy_with, nll, nll_with};
pub use divergence::kl_div;
pub use error::LossError;
pub use gradus_tensor::BatchTargets;
pub use penalty::{l2_penalty, l2_penalty_where};
pub use reduction::Reduction;
pub use regression::{gaussian_nll, huber, l1, mse, smooth_l1};
pub use traits::{BceWithLogits, CrossEntropy, Loss, Nll, Regression};
