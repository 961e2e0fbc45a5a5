//! Looking inside training, as one test binary (one link instead of
//! three): the Hessian operator against dense Hessians, loss landscapes,
//! and the learning-rate range test.

#[path = "../common/mod.rs"]
mod common;
mod hessian;
mod landscape;
mod lr_find;
