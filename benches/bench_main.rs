//! gradus criterion benches: `cargo bench -p gradus-benches [-- filter]`.
//!
//! Groups report throughput: matmul in elements = FLOPs (2·m·n·k), so
//! criterion's "Gelem/s" reads as GFLOP/s; element-wise kernels and
//! reductions in bytes moved (GB/s).

mod benchmarks;

/// `criterion_main!` with the bench thread made one of the pool's first, as
/// the command line and the scoreboard have it.
fn main() {
    gradus_tensor::init_threads(0).expect("nothing has used rayon before main");
    benchmarks::matmul::benches();
    benchmarks::autodiff::benches();
    benchmarks::train::benches();
    benchmarks::layer::benches();
    benchmarks::optim::benches();
    benchmarks::data::benches();
    benchmarks::elementwise::benches();
    benchmarks::reduce::benches();
    criterion::Criterion::default().configure_from_args().final_summary();
}
