//! Transposed operands reach faer as strided views: a product with
//! transposed inputs allocates its output and nothing of the operands' size.
//! A counting global allocator measures it (this binary has one test, so no
//! other thread allocates meanwhile).

use gradus_tensor::Tensor;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;
static BYTES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, only counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocated_by<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let before = BYTES.load(Ordering::Relaxed);
    let out = f();
    (out, BYTES.load(Ordering::Relaxed) - before)
}

#[test]
fn transposed_operands_are_not_copied() {
    gradus_tensor::set_parallel_matmul_threshold(usize::MAX);
    let (k, m, n) = (4096, 16, 16);
    let a = Tensor::<f64>::ones(&[k, m]); // aᵀ is [m, k], 512 KiB
    let b = Tensor::<f64>::ones(&[n, k]); // bᵀ is [k, n]
    let operand_bytes = k * m * size_of::<f64>();
    // Warm up once so faer's lazily created thread-local workspace is not counted.
    let _ = a.t().matmul(&b.t());
    let (c, bytes) = allocated_by(|| a.t().matmul(&b.t()));
    assert_eq!(c.get(&[0, 0]), k as f64);
    assert!(bytes < operand_bytes / 8, "transposed matmul allocated {bytes} bytes (an operand is {operand_bytes})");
    // A materialised transpose is what it would cost otherwise.
    let (_, copy_bytes) = allocated_by(|| a.t().contiguous());
    assert!(copy_bytes >= operand_bytes);
}
