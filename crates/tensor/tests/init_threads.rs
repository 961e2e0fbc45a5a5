//! `init_threads` in a process of its own: rayon's global pool is built
//! once per process.

use gradus_tensor::{Tensor, init_threads, join, set_parallel_matmul_threshold};

#[test]
fn the_calling_thread_joins_the_pool_and_parallel_work_stays_exact() {
    assert_eq!(init_threads(2).unwrap(), 2);
    assert_eq!(rayon::current_thread_index(), Some(0), "the caller is the pool's first thread");

    // A product split across the pool equals the same product on one thread,
    // and join runs both halves from the caller.
    let a = Tensor::from_vec((0..96 * 80).map(|i| (i % 17) as f64 - 8.0).collect(), &[96, 80]).unwrap();
    let b = Tensor::from_vec((0..80 * 64).map(|i| (i % 13) as f64 * 0.5).collect(), &[80, 64]).unwrap();
    set_parallel_matmul_threshold(usize::MAX);
    let sequential = a.matmul(&b).to_vec();
    set_parallel_matmul_threshold(0);
    let (parallel, transposed) = join(|| a.matmul(&b).to_vec(), || b.t().matmul(&a.t()).t().to_vec());
    assert_eq!(parallel, sequential);
    assert_eq!(transposed, sequential);

    let err = init_threads(2).unwrap_err().to_string();
    assert!(err.starts_with("init_threads: "), "{err}");
    assert!(err.contains("call it first in main"), "{err}");
}
