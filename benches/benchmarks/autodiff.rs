//! Autodiff: tape overhead (gradient-descent steps on Himmelblau with 0-d
//! variables: build the graph, backward, update) and a Hessian.

use criterion::{Criterion, Throughput};
use gradus_autodiff::{Tape, Var};
use gradus_tensor::Tensor;
use std::hint::black_box;

/// One GD step on Himmelblau's function f = (x² + y − 11)² + (x + y² − 7)²
/// with 0-d variables; returns the new point.
pub fn himmelblau_step(x: f64, y: f64, lr: f64) -> (f64, f64) {
    let tape = Tape::new();
    let (vx, vy) = (tape.leaf(Tensor::scalar(x)), tape.leaf(Tensor::scalar(y)));
    let f = (&vx.square() + &vy - 11.0).square() + (&vx + &vy.square() - 7.0).square();
    let g = f.backward().expect("recorded");
    (x - lr * g.get(&vx).expect("x used").item(), y - lr * g.get(&vy).expect("y used").item())
}

fn autodiff_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("autodiff");
    group.throughput(Throughput::Elements(10_000));
    group.bench_function("himmelblau_10k_gd_steps", |b| {
        b.iter(|| {
            let (mut x, mut y) = (0.0, 0.0);
            for _ in 0..10_000 {
                (x, y) = himmelblau_step(x, y, 0.01);
            }
            black_box((x, y))
        })
    });
    group.finish();
    let mut group = c.benchmark_group("autodiff_second_order");
    group.bench_function("rosenbrock_hessian", |b| {
        let f = |v: &Var<f64>| {
            let (x, y) = (v.narrow(0, 0, 1).sum(.., false), v.narrow(0, 1, 1).sum(.., false));
            (1.0 - &x).square() + (&y - &x.square()).square().mul_scalar(100.0)
        };
        let p = Tensor::from_vec(vec![-1.2, 1.0], &[2]).expect("2 values");
        b.iter(|| black_box(gradus_autodiff::hessian(f, &p).expect("scalar")))
    });
    group.finish();
}

criterion::criterion_group! {
    name = benches;
    config = super::config();
    targets = autodiff_benches
}
