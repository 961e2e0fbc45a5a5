//! Differentiable operations on [`Var`](crate::Var), one file per family,
//! each backward rule written right below its forward with differentiable
//! ops, so higher derivatives come for free.

mod across;
mod activation;
mod attention;
pub(crate) mod conv;
mod elementwise;
mod matmul;
mod norm;
mod pad;
mod pool;
mod recurrent;
mod reduce;
mod shape;
mod softmax;

pub use across::{Across, Copies};

use crate::{Var, is_recording};
use gradus_tensor::{Cost, Float};

/// g·f′ for an element-wise op whose derivative is a function of its
/// output y: when the backward pass is not recorded, one pass over g and
/// y (`fused(g, y)`, no intermediate tensors); when it is (higher
/// derivatives), `recorded()`, the same product in differentiable ops.
/// `fused` must round as `recorded` does, so both passes give the same
/// bits (`tests/fused_backward.rs`).
pub(crate) fn through_output<T: Float>(
    g: &Var<T>,
    out: &Var<T>,
    fused: impl Fn(T, T) -> T + Sync,
    recorded: impl FnOnce() -> Var<T>,
) -> Var<T> {
    if is_recording() {
        recorded()
    } else {
        Var::constant(g.value().zip_map_with(out.value(), "backward", Cost::Cheap, fused))
    }
}
pub use conv::{ConvOptions, ConvTransposeOptions, PadMode, Padding};
pub use pool::{AvgPoolOptions, MaxPoolOptions};
pub use recurrent::CellKind;
