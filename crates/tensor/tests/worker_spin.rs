//! Spinning workers, in a process of their own: the spinner count and the
//! spin time are process-wide.

use gradus_tensor::{Tensor, init_threads, join, note_parallel_work, set_worker_spin, spinning_workers, workers_awake};
use std::time::{Duration, Instant};

/// Waits up to 5 s for the spinners to end; how long they took.
fn spinners_end() -> Duration {
    let start = Instant::now();
    while spinning_workers() > 0 {
        assert!(start.elapsed() < Duration::from_secs(5), "spinners still alive after 5 s");
        std::thread::sleep(Duration::from_micros(100));
    }
    start.elapsed()
}

#[test]
fn workers_spin_for_the_spin_time_after_parallel_work_then_stop() {
    assert_eq!(init_threads(3).unwrap(), 3);
    let spin = Duration::from_millis(20);
    set_worker_spin(spin);

    // Parallel work keeps one spinner per worker besides this thread, no more.
    let noted = Instant::now();
    note_parallel_work();
    note_parallel_work();
    assert!(spinning_workers() <= 2);
    assert!(workers_awake());
    // They end once no work has been noted for the spin time, not before.
    spinners_end();
    assert!(noted.elapsed() >= spin, "spinners ended {:?} after the last work", noted.elapsed());

    // Work still runs while they spin, and gives the same values.
    note_parallel_work();
    let a = Tensor::from_vec((0..64 * 64).map(|i| (i % 7) as f32).collect(), &[64, 64]).unwrap();
    let (x, y) = join(|| a.matmul(&a).sum(.., false).item(), || a.t().matmul(&a.t()).sum(.., false).item());
    assert_eq!(x, y);
    spinners_end();

    // A spin time of zero starts no spinners.
    set_worker_spin(Duration::ZERO);
    note_parallel_work();
    assert_eq!(spinning_workers(), 0);
}
