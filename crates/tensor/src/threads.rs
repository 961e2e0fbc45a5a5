//! The thread pool as the kernels see it: `join` for two independent
//! computations, whether the pool's threads are awake, how long they stay
//! awake ([`set_worker_spin`]), and [`init_threads`], which makes the
//! calling thread one of the pool's.
//!
//! Waking a sleeping worker costs far more on these virtual machines than
//! the few microseconds a spinning one takes to pick up work: a halted
//! virtual CPU must be woken by the host (the Adam update of a batch-32 MLP
//! step took 0.12 ms longer split across two threads than on one). rayon's
//! idle workers yield some 32 rounds, tens of microseconds, before they
//! sleep, which is shorter than the serial stretches of a training step.
//! So, as OpenMP runtimes do (`KMP_BLOCKTIME`, `GOMP_SPINCOUNT`), gradus
//! keeps the workers spinning for a while after parallel work: parallel
//! paths note when they finish, which starts a spinner job per worker that
//! runs whatever rayon work appears and ends once no parallel work has been
//! noted for the spin time (1 ms unless set). [`workers_awake`] says
//! whether the workers are still awake.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long after parallel work the pool's workers count as awake without
/// spinners: rayon's own idle spinning.
const AWAKE_FOR_NANOS: u64 = 50_000;

/// How long workers spin after parallel work unless [`set_worker_spin`] says
/// otherwise.
pub const DEFAULT_WORKER_SPIN: Duration = Duration::from_millis(1);

/// The spin time in nanoseconds (0: no spinners).
static SPIN_NANOS: AtomicU64 = AtomicU64::new(DEFAULT_WORKER_SPIN.as_nanos() as u64);

/// Spinner jobs alive: at most one per worker besides the calling thread.
static SPINNERS: AtomicUsize = AtomicUsize::new(0);

/// A spinner runs in slices of at most this long, each queueing the next:
/// a thread that picks one up while it waits on its own work (rayon lets a
/// waiting thread run queued jobs) is held up no longer than a slice.
const SLICE_NANOS: u64 = 10_000;

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

/// How long the pool's workers keep spinning after parallel work, running
/// any rayon work that appears, before they may sleep: [`DEFAULT_WORKER_SPIN`]
/// (1 ms) unless set. `Duration::ZERO` leaves them to rayon's own short
/// spin. Spinning costs CPU time on the otherwise idle cores and saves the
/// wake-up of a sleeping worker at the next parallel operation: on the
/// 2-core machine, 1 ms made a batch-128 MLP step 10% faster and a
/// Fashion-MNIST epoch 9% faster (medians of paired rounds).
///
/// # Examples
/// ```
/// use std::time::Duration;
/// gradus_tensor::set_worker_spin(Duration::from_micros(200));
/// gradus_tensor::set_worker_spin(gradus_tensor::DEFAULT_WORKER_SPIN);
/// ```
pub fn set_worker_spin(spin: Duration) {
    SPIN_NANOS.store(spin.as_nanos().min(u128::from(u64::MAX)) as u64, Ordering::Relaxed);
}

/// Records that parallel work just finished, and keeps the pool's workers
/// spinning for the spin time from now. gradus's parallel kernels call it;
/// other crates' parallel paths (the optimisers') call it too.
pub fn note_parallel_work() {
    LAST_PARALLEL.store(now_nanos(), Ordering::Relaxed);
    if SPIN_NANOS.load(Ordering::Relaxed) > 0 {
        let workers = rayon::current_num_threads().saturating_sub(1);
        let mut alive = SPINNERS.load(Ordering::Relaxed);
        while alive < workers {
            match SPINNERS.compare_exchange_weak(alive, alive + 1, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => {
                    rayon::spawn(spin);
                    alive += 1;
                }
                Err(now) => alive = now,
            }
        }
    }
}

/// One slice of a spinner: run rayon work as it appears; queue the next
/// slice after [`SLICE_NANOS`], or end once no parallel work has been noted
/// for the spin time.
fn spin() {
    let start = now_nanos();
    loop {
        let ran = matches!(rayon::yield_now(), Some(rayon::Yield::Executed));
        let now = now_nanos();
        if now.saturating_sub(LAST_PARALLEL.load(Ordering::Relaxed)) >= SPIN_NANOS.load(Ordering::Relaxed) {
            SPINNERS.fetch_sub(1, Ordering::Relaxed);
            return;
        }
        if now - start >= SLICE_NANOS {
            rayon::spawn(spin);
            return;
        }
        if !ran {
            std::hint::spin_loop();
        }
    }
}

/// The spinner jobs alive now (for tests).
#[doc(hidden)]
pub fn spinning_workers() -> usize {
    SPINNERS.load(Ordering::Relaxed)
}

/// Whether parallel work finished recently enough that the pool's workers
/// are still awake (within the spin time, or rayon's own 50 µs), so that a
/// split costs little.
pub fn workers_awake() -> bool {
    let window = SPIN_NANOS.load(Ordering::Relaxed).max(AWAKE_FOR_NANOS);
    awake(LAST_PARALLEL.load(Ordering::Relaxed), now_nanos(), window)
}

/// Whether workers whose last parallel work ended at `last` (0: never) are
/// awake at `now`, `window` nanoseconds after it.
fn awake(last: u64, now: u64, window: u64) -> bool {
    last != 0 && now.saturating_sub(last) < window
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
        assert!(!awake(0, 5, AWAKE_FOR_NANOS), "no parallel work yet");
        assert!(awake(1_000, 1_000 + AWAKE_FOR_NANOS - 1, AWAKE_FOR_NANOS));
        assert!(!awake(1_000, 1_000 + AWAKE_FOR_NANOS, AWAKE_FOR_NANOS));
        assert!(awake(1_000, 900_000, 1_000_000), "spinning workers stay awake for the spin time");
        // `join` notes its work. (Compared with the time before, not through
        // `workers_awake`: this VM can pause a thread for longer than the
        // window, and other tests may note work at any moment.)
        let before = now_nanos();
        assert_eq!(join(|| 1, || 2), (1, 2));
        assert!(LAST_PARALLEL.load(Ordering::Relaxed) >= before);
    }
}
