//! Data shared by the test binaries of this crate.

use gradus::data::{Dataset, Features, InMemory, Targets};
use rand::{Rng, SeedableRng};
use std::sync::Arc;

/// `n` points in 2-D around four centres (±2, ±2), one class per centre,
/// each point uniform within ±1 of its centre: separable, so a small MLP
/// learns it in a few epochs.
pub fn blobs(n: usize, seed: u64) -> Arc<dyn Dataset> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let centres = [(-2.0, -2.0), (2.0, -2.0), (-2.0, 2.0), (2.0, 2.0)];
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for i in 0..n {
        let (cx, cy) = centres[i % 4];
        x.push(cx + rng.random_range(-1.0..1.0));
        x.push(cy + rng.random_range(-1.0..1.0));
        y.push(i % 4);
    }
    Arc::new(InMemory::new(Features::F64(x), vec![2], Targets::Classes(y)).unwrap())
}
