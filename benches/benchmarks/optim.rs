//! Optimisers: one Adam update on 10M f32 parameters (28 bytes per
//! parameter; criterion's throughput is in bytes), and one SGD-momentum
//! update on the parameters of an MLP 784-256-128-10.

use criterion::{Criterion, Throughput};
use gradus_optim::{Adam, AdamConfig, Sgd, SgdConfig, UpdateRule};
use std::hint::black_box;

fn optim_benches(c: &mut Criterion) {
    let n = 10_000_000;
    let adam = Adam::new(AdamConfig::default()).expect("defaults are valid");
    let grad: Vec<f32> = (0..n).map(|i| ((i % 1000) as f32 - 500.0) * 1e-3).collect();
    let mut param = vec![0.5f32; n];
    let mut state = UpdateRule::<f32>::init(&adam, 1e-3, &[n]);
    let mut group = c.benchmark_group("optim");
    group.throughput(Throughput::Bytes(28 * n as u64));
    group.bench_function("adam_10m_f32", |b| b.iter(|| adam.update(1e-3, &mut param, &grad, &mut state)));
    let m = 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10;
    let sgd = Sgd::new(SgdConfig { lr: 0.1, momentum: 0.9, ..Default::default() }).expect("valid");
    let g = vec![0.01f32; m];
    let mut p = vec![0.0f32; m];
    let mut s = UpdateRule::<f32>::init(&sgd, 0.1, &[m]);
    group.throughput(Throughput::Bytes(16 * m as u64));
    group.bench_function("sgd_momentum_mlp_235k_f32", |b| {
        b.iter(|| {
            sgd.update(0.1, &mut p, &g, &mut s);
            black_box(&mut p);
        })
    });
    group.finish();
}

criterion::criterion_group! {
    name = benches;
    config = super::config();
    targets = optim_benches
}
