//! gradus criterion benches: `cargo bench -p gradus-benches [-- filter]`.
//!
//! Groups report throughput: matmul in elements = FLOPs (2·m·n·k), so
//! criterion's "Gelem/s" reads as GFLOP/s; element-wise kernels and
//! reductions in bytes moved (GB/s).

mod benchmarks;

criterion::criterion_main!(
    benchmarks::matmul::benches,
    benchmarks::autodiff::benches,
    benchmarks::train::benches,
    benchmarks::layer::benches,
    benchmarks::optim::benches,
    benchmarks::data::benches,
    benchmarks::elementwise::benches,
    benchmarks::reduce::benches
);
