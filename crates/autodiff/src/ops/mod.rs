//! Differentiable operations on [`Var`](crate::Var), one file per family,
//! each backward rule written right below its forward with differentiable
//! ops, so higher derivatives come for free.

mod across;
mod activation;
pub(crate) mod conv;
mod elementwise;
mod matmul;
mod pad;
mod pool;
mod reduce;
mod shape;
mod softmax;

pub use across::{Across, Copies};
pub use conv::{ConvOptions, ConvTransposeOptions, PadMode, Padding};
pub use pool::{AvgPoolOptions, MaxPoolOptions};
