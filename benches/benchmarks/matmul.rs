//! Matrix products: gradus `matmul` beside faer called directly on the same
//! shapes with the same parallelism, and with a transposed operand.

use criterion::{BenchmarkId, Criterion, Throughput};
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, Par};
use gradus_tensor::{DEFAULT_PARALLEL_MATMUL_FLOPS, Float, Tensor};
use rand::SeedableRng;
use std::hint::black_box;

/// (m, k, n): the products of a 784-256-10 MLP at batch 128, and 1024³.
pub const SHAPES: [(usize, usize, usize); 3] = [(128, 784, 256), (128, 256, 128), (1024, 1024, 1024)];

fn par_for(m: usize, k: usize, n: usize) -> Par {
    if m * k * n >= DEFAULT_PARALLEL_MATMUL_FLOPS { Par::rayon(0) } else { Par::Seq }
}

fn bench_type<T: Float>(c: &mut Criterion) {
    let mut group = c.benchmark_group(format!("matmul_{}", T::DTYPE));
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    for (m, k, n) in SHAPES {
        let label = format!("{m}x{k}x{n}");
        group.throughput(Throughput::Elements((2 * m * n * k) as u64));
        let a = Tensor::<T>::normal(&[m, k], T::zero(), T::one(), &mut rng);
        let b = Tensor::<T>::normal(&[k, n], T::zero(), T::one(), &mut rng);
        group.bench_function(BenchmarkId::new("gradus", &label), |bench| bench.iter(|| black_box(a.matmul(&b))));
        let bt = b.t().contiguous(); // [n, k]; bt.t() is a strided [k, n] view
        group.bench_function(BenchmarkId::new("gradus_transposed_rhs", &label), |bench| {
            bench.iter(|| black_box(a.matmul(&bt.t())))
        });
        let fa = Mat::<T>::from_fn(m, k, |i, j| a.get(&[i, j]));
        let fb = Mat::<T>::from_fn(k, n, |i, j| b.get(&[i, j]));
        let par = par_for(m, k, n);
        // faer writing into one reused output: the kernel alone, the
        // strictest baseline (gradus also allocates its output, from the pool).
        let mut out = Mat::<T>::zeros(m, n);
        group.bench_function(BenchmarkId::new("faer_direct", &label), |bench| {
            bench.iter(|| {
                matmul(out.as_mut(), Accum::Replace, fa.as_ref(), fb.as_ref(), T::one(), par);
                black_box(&mut out);
            })
        });
    }
    group.finish();
}

fn matmul_benches(c: &mut Criterion) {
    bench_type::<f32>(c);
    bench_type::<f64>(c);
}

criterion::criterion_group! {
    name = benches;
    config = super::config();
    targets = matmul_benches
}
