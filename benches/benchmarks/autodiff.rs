//! Autodiff: tape overhead (gradient-descent steps on Himmelblau with 0-d
//! variables: build the graph, backward, update) and a Hessian.

use criterion::{Criterion, Throughput};
use gradus_autodiff::Var;
use gradus_benches::workloads::himmelblau_step;
use gradus_tensor::Tensor;
use std::hint::black_box;

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
