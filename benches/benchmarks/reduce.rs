//! Reductions: a full sum, a row-wise sum (last axis) and a column sum (first
//! axis, the bias gradient of a linear layer), and softmax along rows.

use criterion::{BenchmarkId, Criterion, Throughput};
use gradus_tensor::{Float, Tensor};
use rand::SeedableRng;
use std::hint::black_box;

/// (rows, cols) of the reduced matrix.
pub const SHAPES: [(usize, usize); 2] = [(128, 256), (1000, 1000)];

fn bench_type<T: Float>(c: &mut Criterion) {
    let mut group = c.benchmark_group(format!("reduce_{}", T::DTYPE));
    let mut rng = rand::rngs::StdRng::seed_from_u64(2);
    for (r, cols) in SHAPES {
        let x = Tensor::<T>::normal(&[r, cols], T::zero(), T::one(), &mut rng);
        let label = format!("{r}x{cols}");
        group.throughput(Throughput::Bytes((r * cols * size_of::<T>()) as u64));
        group.bench_function(BenchmarkId::new("sum_all", &label), |b| b.iter(|| black_box(x.sum(.., false))));
        group.bench_function(BenchmarkId::new("sum_rows", &label), |b| b.iter(|| black_box(x.sum(-1, false))));
        group.bench_function(BenchmarkId::new("sum_cols", &label), |b| b.iter(|| black_box(x.sum(0, false))));
        group.bench_function(BenchmarkId::new("softmax_rows", &label), |b| b.iter(|| black_box(x.softmax(-1))));
        let plain = x.as_slice().unwrap().to_vec();
        group.bench_function(BenchmarkId::new("sum_all/loop", &label), |b| {
            b.iter(|| black_box(plain.iter().copied().fold(T::zero(), |a, v| a + v)))
        });
    }
    group.finish();
}

fn reduce_benches(c: &mut Criterion) {
    bench_type::<f32>(c);
    bench_type::<f64>(c);
}

criterion::criterion_group! {
    name = benches;
    config = super::config();
    targets = reduce_benches
}
