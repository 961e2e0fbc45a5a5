//! gradus-nn: the layers that turn the tape into networks a user can train.
//!
//! - [`Module`]: a forward pass on an explicit [`Tape`](gradus_autodiff::Tape)
//!   and a visitor over named parameters and buffers (`0.weight`,
//!   `1.running_mean`), found from each container's declared
//!   [`Module::children`]; train/eval mode; freezing through [`Param::freeze`].
//! - Layers: [`Linear`], [`Sequential`], [`Flatten`], [`Dropout`],
//!   [`BatchNorm1d`]; for images [`Conv1d`], [`Conv2d`], [`ConvTranspose2d`],
//!   [`MaxPool2d`], [`AvgPool2d`], [`AdaptiveAvgPool2d`],
//!   [`AdaptiveMaxPool2d`], [`BatchNorm2d`], [`Dropout2d`]; [`Residual`] and
//!   [`Identity`]; [`LayerNorm`], [`RMSNorm`], [`GroupNorm`],
//!   [`InstanceNorm2d`]; for sequences [`Recurrent`] (LSTM and GRU as
//!   PyTorch's), [`Embedding`], [`PosEmbedding`], [`MultiheadAttention`],
//!   [`TransformerLayer`], [`Reshape`], [`LastToken`], [`MeanTokens`]; one module per activation ([`Relu`], [`PRelu`] with
//!   learned α, [`Swish`] with learned β, …), [`Lambda`] for closures, and
//!   the [`Mlp`] builder.
//! - Initialisation: [`Init`] (Xavier in the lecture form and Glorot's, He /
//!   Kaiming, constant, normal, uniform) from the caller's seeded RNG.
//! - Diagnostics: [`ActivationStats`] counts dead ReLU units and saturated
//!   sigmoid/tanh outputs through [`Module::forward_observed`].
//! - Checkpoints in the safetensors format: [`save`], [`load`], and
//!   [`Checkpoint`] for whole training states.
//!
//! One training step:
//!
//! ```
//! use gradus_autodiff::{Tape, Var};
//! use gradus_nn::{Mlp, Module};
//! use gradus_tensor::Tensor;
//! use rand::{SeedableRng, rngs::StdRng};
//! let model = Mlp::new(&[2, 8, 1]).build::<f64, _>(&mut StdRng::seed_from_u64(0));
//! let x = Var::constant(Tensor::from_vec(vec![0.0, 1.0, 1.0, 0.0], &[2, 2]).unwrap());
//! let tape = Tape::new();
//! let loss = model.forward(&tape, &x).square().mean(.., false);
//! let grads = loss.backward().unwrap();
//! for (_, p, g) in model.gradients(&tape, &grads) {
//!     p.set(&p.value() - &(&g * 0.1)); // plain gradient descent
//! }
//! ```

mod activation;
mod atomic;
mod attention;
mod batchnorm;
pub mod catalogue;
pub mod checkpoint;
mod conv;
mod diagnostics;
mod dropout;
mod embedding;
mod error;
mod init;
mod linear;
mod mlp;
mod module;
mod norm;
mod observe;
mod param;
mod pool;
mod recurrent;
mod residual;
mod sequence;
mod sequential;
mod shard;
mod transformer;

pub use activation::{
    Activation, Elu, Gelu, Hardtanh, LeakyRelu, LogSigmoid, LogSoftmax, Mish, PRelu, Relu, Selu, Sigmoid, Silu,
    Softmax, Softplus, Swish, Tanh, UnknownActivation,
};
pub use atomic::write_atomic;
pub use attention::MultiheadAttention;
pub use batchnorm::{BatchNorm1d, BatchNorm2d};
pub use checkpoint::{Checkpoint, load, save};
pub use conv::{Conv1d, Conv2d, ConvTranspose2d};
pub use diagnostics::{ActivationStats, LayerActivity, SATURATION, Saturating, Watch};
pub use dropout::{Dropout, Dropout2d};
pub use embedding::{Embedding, PosEmbedding};
pub use error::{NnError, Result};
pub use init::{FanMode, Init, Nonlinearity, fans, gain};
pub use linear::Linear;
pub use mlp::Mlp;
pub use module::{Lambda, Module, Slot, Visitor, own_parameters};
pub use norm::{GroupNorm, InstanceNorm2d, LayerNorm, RMSNorm};
pub use observe::{Observe, Observer};
pub use param::{Buffer, Param, ParamId};
pub use pool::{AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, MaxPool2d};
pub use recurrent::{CellKind, Recurrent};
pub use residual::{Identity, Residual};
pub use sequence::{LastToken, MeanTokens, Reshape};
pub use sequential::{Flatten, Sequential};
pub use shard::{Shard, in_shard};
pub use transformer::{TransformerLayer, TransformerOptions};
