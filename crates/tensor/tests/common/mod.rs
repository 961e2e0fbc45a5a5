//! Strategies and naive reference implementations shared by the property tests.

#![allow(dead_code)]

use gradus_tensor::Tensor;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

/// Fixed seed, so CI sees the same cases every run; failures persist to
/// `proptest-regressions/` and are committed.
pub fn config() -> Config {
    Config { cases: 96, rng_seed: RngSeed::Fixed(0x67_72_61_64_75_73), ..Config::default() }
}

/// Shapes of rank 1–4 with dims 1–6.
pub fn shape() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..=6, 1..=4)
}

/// A tensor of `shape` with values in [-10, 10].
pub fn tensor_of(shape: Vec<usize>) -> impl Strategy<Value = Tensor<f64>> {
    let n: usize = shape.iter().product();
    prop::collection::vec(-10.0f64..10.0, n).prop_map(move |v| Tensor::from_vec(v, &shape).unwrap())
}

/// A tensor of random shape.
pub fn tensor() -> impl Strategy<Value = Tensor<f64>> {
    shape().prop_flat_map(tensor_of)
}

/// Row-major multi-index of flat position `i` in `shape`.
pub fn unravel(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for d in (0..shape.len()).rev() {
        idx[d] = i % shape[d];
        i /= shape[d];
    }
    idx
}
