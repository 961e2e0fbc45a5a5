//! In the steady state a repeated workload reuses its buffers: no pool
//! misses and (almost) no page faults after warm-up. One test per binary, so
//! the process-wide counters see only this workload.

use gradus_tensor::{Tensor, pool_stats};
use rand::SeedableRng;

/// Minor page faults of this process so far (Linux: field 10 of /proc/self/stat).
fn minor_faults() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name, which may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(7)?.parse().ok()
}

/// The shape of an MLP step's forward pass at batch 128: 784 → 256 → 10,
/// on ReLU'd first-layer weights (a 200 k-element mask), with the best of
/// two classes for each of 10 k rows of `pairs` (10 k indices).
fn step(x: &Tensor<f32>, w1: &Tensor<f32>, w2: &Tensor<f32>, pairs: &Tensor<f32>) -> f32 {
    let w1 = w1.gt_scalar(0.0).select(w1, &Tensor::scalar(0.0));
    let h = x.matmul(&w1.t()).tanh();
    let logits = h.matmul(&w2.t());
    let p = logits.log_softmax(-1);
    let grad_h = (&p.exp().matmul(w2) * &(1.0 - h.square())).sum(0, false);
    let best = pairs.argmax(-1, false);
    p.mean(.., false).item() + grad_h.sum(.., false).item() + best.to_vec().iter().sum::<usize>() as f32
}

#[test]
fn a_repeated_step_reuses_memory() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let x = Tensor::<f32>::normal(&[128, 784], 0.0, 1.0, &mut rng);
    let w1 = Tensor::<f32>::normal(&[256, 784], 0.0, 0.05, &mut rng);
    let w2 = Tensor::<f32>::normal(&[10, 256], 0.0, 0.05, &mut rng);
    let pairs = Tensor::<f32>::normal(&[10_000, 2], 0.0, 1.0, &mut rng);
    // Warm-up: every worker thread runs the step once itself (its stack, its
    // allocator arena and faer's per-thread packing buffers see first use
    // here, not in the measured steps, whichever thread a busy machine's
    // scheduler leaves idle), then the step runs as usual.
    rayon::broadcast(|_| step(&x, &w1, &w2, &pairs));
    for _ in 0..3 {
        step(&x, &w1, &w2, &pairs);
    }
    let misses = || {
        [
            pool_stats::<f32>().unwrap().misses,
            pool_stats::<bool>().unwrap().misses,
            pool_stats::<usize>().unwrap().misses,
        ]
    };
    let (before_misses, faults) = (misses(), minor_faults());
    let first = step(&x, &w1, &w2, &pairs);
    for _ in 0..20 {
        assert_eq!(step(&x, &w1, &w2, &pairs), first, "the same inputs give the same result");
    }
    assert_eq!(misses(), before_misses, "large buffers (f32, bool, usize) came from the allocator in the steady state");
    assert!(pool_stats::<bool>().unwrap().hits >= 21, "the weight masks are recycled");
    assert!(pool_stats::<usize>().unwrap().hits >= 21, "the indices are recycled");
    if let (Some(before), Some(after)) = (faults, minor_faults()) {
        // 21 steps allocate ~1 MB of activations each; without reuse that is
        // hundreds of fresh pages per step.
        assert!(after - before < 50, "{} minor page faults in 21 steady-state steps", after - before);
    }
}
