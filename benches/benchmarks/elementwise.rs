//! Element-wise kernels on 1M and 10M elements: binary add and a unary op,
//! beside a plain Rust loop over slices (into a reused output and into a
//! fresh Vec).

use criterion::{BenchmarkId, Criterion, Throughput};
use gradus_tensor::{Float, Tensor};
use rand::SeedableRng;
use std::hint::black_box;

/// Element counts.
pub const SIZES: [usize; 2] = [1_000_000, 10_000_000];

fn bench_type<T: Float>(c: &mut Criterion) {
    let mut group = c.benchmark_group(format!("elementwise_{}", T::DTYPE));
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    for n in SIZES {
        let a = Tensor::<T>::uniform(&[n], -T::one(), T::one(), &mut rng);
        let b = Tensor::<T>::uniform(&[n], -T::one(), T::one(), &mut rng);
        let (sa, sb) = (a.as_slice().unwrap().to_vec(), b.as_slice().unwrap().to_vec());
        let elem = size_of::<T>() as u64;

        group.throughput(Throughput::Bytes(3 * n as u64 * elem));
        group.bench_function(BenchmarkId::new("add/gradus", n), |bench| bench.iter(|| black_box(&a + &b)));
        let mut out = vec![T::zero(); n];
        group.bench_function(BenchmarkId::new("add/loop_reused_output", n), |bench| {
            bench.iter(|| {
                for ((o, &x), &y) in out.iter_mut().zip(&sa).zip(&sb) {
                    *o = x + y;
                }
                black_box(&mut out);
            })
        });
        group.bench_function(BenchmarkId::new("add/loop_fresh_vec", n), |bench| {
            bench.iter(|| black_box(sa.iter().zip(&sb).map(|(&x, &y)| x + y).collect::<Vec<T>>()))
        });

        group.throughput(Throughput::Bytes(2 * n as u64 * elem));
        group.bench_function(BenchmarkId::new("tanh/gradus", n), |bench| bench.iter(|| black_box(a.tanh())));
        group.bench_function(BenchmarkId::new("tanh/loop_reused_output", n), |bench| {
            bench.iter(|| {
                for (o, &x) in out.iter_mut().zip(&sa) {
                    *o = x.tanh();
                }
                black_box(&mut out);
            })
        });
    }
    group.finish();
}

fn elementwise_benches(c: &mut Criterion) {
    bench_type::<f32>(c);
    bench_type::<f64>(c);
}

criterion::criterion_group! {
    name = benches;
    config = super::config();
    targets = elementwise_benches
}
