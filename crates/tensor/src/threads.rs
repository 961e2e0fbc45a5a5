//! The thread pool as the kernels see it: `join` for two independent
//! computations, whether the pool's threads are awake, and
//! [`init_threads`], which makes the calling thread one of the pool's.
//!
//! Waking a sleeping worker costs far more on these virtual machines than
//! the few microseconds a spinning one takes to pick up work: a halted
//! virtual CPU must be woken by the host (the Adam update of a batch-32 MLP
//! step took 0.12 ms longer split across two threads than on one).
//! rayon's idle workers spin for a while before they sleep, so work that is
//! only modestly larger than a wake-up is worth splitting just after other
//! parallel work, and not otherwise. Parallel paths note when they finish;
//! [`workers_awake`] says whether that was recent.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// How long after parallel work the pool's workers still count as awake.
/// rayon's idle workers yield some 32 rounds before they sleep, tens of
/// microseconds here.
const AWAKE_FOR_NANOS: u64 = 50_000;

/// Nanoseconds since [`epoch`] at which the last parallel work finished.
static LAST_PARALLEL: AtomicU64 = AtomicU64::new(0);

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now_nanos() -> u64 {
    // Never 0, which means "never".
    epoch().elapsed().as_nanos() as u64 + 1
}

/// Records that parallel work just finished (so workers are spinning).
/// gradus's parallel kernels call it; other crates' parallel paths (the
/// optimisers') call it too.
pub fn note_parallel_work() {
    LAST_PARALLEL.store(now_nanos(), Ordering::Relaxed);
}

/// Whether parallel work finished within the last 50 µs, so that the pool's
/// workers are likely still awake and a split costs little.
pub fn workers_awake() -> bool {
    awake(LAST_PARALLEL.load(Ordering::Relaxed), now_nanos())
}

/// Whether workers whose last parallel work ended at `last` (0: never) are
/// awake at `now`.
fn awake(last: u64, now: u64) -> bool {
    last != 0 && now.saturating_sub(last) < AWAKE_FOR_NANOS
}

/// Runs `a` and `b`, side by side when the thread pool has a free thread
/// (rayon's `join`; one after the other on a pool of one). For independent
/// computations each too small to split across threads on its own, such as
/// a dense layer's two gradient products.
///
/// # Examples
/// ```
/// use gradus_tensor::{Tensor, join};
/// let (a, b) = (Tensor::<f32>::ones(&[2, 3]), Tensor::<f32>::ones(&[3, 2]));
/// let (ab, ba) = join(|| a.matmul(&b), || b.matmul(&a));
/// assert_eq!((ab.shape(), ba.shape()), (&[2, 2][..], &[3, 3][..]));
/// ```
pub fn join<A: Send, B: Send>(a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B + Send) -> (A, B) {
    let out = rayon::join(a, b);
    note_parallel_work();
    out
}

/// Builds rayon's global pool with the calling thread as one of its
/// `threads` threads (0: `RAYON_NUM_THREADS` if set, else one per core), as
/// OpenMP makes the thread that starts a parallel region one of its team.
/// Returns the pool's size.
///
/// Without it the training loop's thread is outside the pool: each of its
/// parallel operations (a large product, an optimiser sweep, a dense
/// layer's two gradient products) is handed to a worker while the loop's
/// thread sleeps until it is done, and each hand-over costs a wake-up on
/// both sides. Inside the pool, the loop's thread does its share and only
/// the other half moves. On the 2-core machine this made a batch-128 MLP
/// step 10% faster (median of 8 paired rounds, every round faster).
///
/// Call it first in `main`, on the thread that will train, before anything
/// uses rayon; the `gradus` command line, the demo and the benchmarks do.
///
/// # Errors
/// If rayon's global pool already exists: built by an earlier call, by
/// `rayon::ThreadPoolBuilder::build_global`, or on first use of any
/// parallel operation.
///
/// # Examples
/// ```
/// let threads = gradus_tensor::init_threads(2).unwrap();
/// assert_eq!(threads, 2);
/// assert_eq!(rayon::current_thread_index(), Some(0), "this thread is the pool's first");
/// assert!(gradus_tensor::init_threads(2).is_err(), "the pool is built once");
/// ```
pub fn init_threads(threads: usize) -> crate::Result<usize> {
    rayon::ThreadPoolBuilder::new().num_threads(threads).use_current_thread().build_global().map_err(|e| {
        crate::TensorError::InvalidArgument {
            op: "init_threads",
            reason: format!("{e}; call it first in main, before any parallel operation"),
        }
    })?;
    Ok(rayon::current_num_threads())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_count_as_awake_just_after_parallel_work_only() {
        assert!(!awake(0, 5), "no parallel work yet");
        assert!(awake(1_000, 1_000 + AWAKE_FOR_NANOS - 1));
        assert!(!awake(1_000, 1_000 + AWAKE_FOR_NANOS));
        // `join` notes its work. (Compared with the time before, not through
        // `workers_awake`: this VM can pause a thread for longer than the
        // window, and other tests may note work at any moment.)
        let before = now_nanos();
        assert_eq!(join(|| 1, || 2), (1, 2));
        assert!(LAST_PARALLEL.load(Ordering::Relaxed) >= before);
    }
}
