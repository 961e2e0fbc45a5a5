//! # gradus-autodiff
//!
//! Reverse-mode automatic differentiation (backpropagation) on a
//! define-by-run tape, with gradients of gradients: Hessians,
//! Hessian-vector products and Newton's method come from the same
//! machinery.
//!
//! ```
//! use gradus_autodiff::Tape;
//! use gradus_tensor::Tensor;
//!
//! // f(x, y, z) = (x + y)·z at (2, 3, −2): ∂f/∂x = −2, ∂f/∂y = −2, ∂f/∂z = 5.
//! let tape = Tape::new();
//! let x = tape.leaf(Tensor::scalar(2.0f64));
//! let y = tape.leaf(Tensor::scalar(3.0));
//! let z = tape.leaf(Tensor::scalar(-2.0));
//! let f = (&x + &y) * &z;
//! let grads = f.backward().unwrap();
//! assert_eq!(grads.get(&x).unwrap().item(), -2.0);
//! assert_eq!(grads.get(&z).unwrap().item(), 5.0);
//! ```
//!
//! Operations on [`Var`] record themselves on the [`Tape`] of their inputs;
//! each backward rule is written with the same differentiable operations, so
//! [`grad`] with `create_graph` records the backward pass itself.
//! Gradients are returned ([`Gradients`], keyed by leaf), never stored on
//! variables.
//!
//! This crate is *not* a layer library: modules, losses and optimisers live
//! in gradus-nn, gradus-loss and gradus-optim.

#![warn(missing_docs)]

mod backward;
pub mod catalogue;
mod curvature;
mod derivatives;
mod error;
pub mod gradcheck;
mod ops;
pub mod report;
mod spectrum;
mod tape;
mod taps;
mod var;

pub use backward::{GradOptions, Gradients, grad};
pub use curvature::{Curvature, PointKind, curvature};
pub use derivatives::{hessian, hvp, jacobian};
pub use error::{AutodiffError, Result};
pub use ops::{
    Across, AvgPoolOptions, CellKind, ConvOptions, ConvTransposeOptions, Copies, MaxPoolOptions, PadMode, Padding,
};
pub use spectrum::{
    Density, LanczosOptions, Quadrature, Ritz, TraceEstimate, density, hutchinson, lanczos, lanczos_quadrature,
    rademacher,
};
pub use tape::{InputGrads, Tape, anomaly_mode, is_recording, no_grad, set_anomaly_mode};
pub use taps::{Tap, TapKind};
pub use var::{Var, VarId};
