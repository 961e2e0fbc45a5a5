//! Differentiable operations on [`Var`](crate::Var), one file per family,
//! each backward rule written right below its forward with differentiable
//! ops, so higher derivatives come for free.

mod activation;
mod elementwise;
mod matmul;
mod reduce;
mod shape;
mod softmax;
