//! Flushing subnormal floats to zero, PyTorch's `torch.set_flush_denormal`.
//!
//! An arithmetic result below the smallest normal float (2⁻¹²⁶ ≈ 1.2·10⁻³⁸
//! in f32) is subnormal, and on many x86 cores an operation that makes or
//! reads one takes a slow microcode path, tens of times an ordinary one.
//! Adam's first moment of a weight whose gradient has stopped (a pixel
//! that is rarely lit, a dead unit) decays by β₁ each step through that
//! range: on an Intel Xeon the Fashion-MNIST MLP's epoch took 0.97 s with
//! IEEE subnormals and 0.69 s flushed (`docs/benchmarks.md`). Flushing
//! changes only results that would have been subnormal, to ±0, so it is
//! off by default, as in PyTorch, and exactness to PyTorch holds only
//! with it off (or with PyTorch flushing too).

/// The MXCSR bits: flush-to-zero (results) and denormals-are-zero (inputs).
#[cfg(target_arch = "x86_64")]
const FTZ_DAZ: u32 = (1 << 15) | (1 << 6);

/// Sets whether subnormal results and inputs of f32 and f64 arithmetic are
/// taken as zero, on the calling thread and on every thread of rayon's
/// global pool (the one gradus's kernels and products run on); returns
/// whether this CPU supports it (x86-64 does), as PyTorch's
/// `torch.set_flush_denormal` does. Threads started later keep the default.
///
/// # Examples
/// ```
/// use gradus_tensor::{flush_denormal, set_flush_denormal};
/// if set_flush_denormal(true) {
///     let tiny = std::hint::black_box(1e-30f32);
///     assert_eq!(tiny * 1e-10, 0.0); // 1e-40 would be subnormal
///     assert!(flush_denormal());
/// }
/// set_flush_denormal(false);
/// assert!(std::hint::black_box(1e-30f32) * 1e-10 > 0.0);
/// ```
pub fn set_flush_denormal(on: bool) -> bool {
    if !cfg!(target_arch = "x86_64") {
        return false;
    }
    set_here(on);
    rayon::broadcast(|_| set_here(on));
    true
}

/// Whether subnormals are flushed on the calling thread.
pub fn flush_denormal() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        read_csr() & FTZ_DAZ == FTZ_DAZ
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

#[cfg(target_arch = "x86_64")]
fn read_csr() -> u32 {
    let mut csr = 0u32;
    // SAFETY: stmxcsr stores the 32-bit control register at the address.
    unsafe { std::arch::asm!("stmxcsr [{}]", in(reg) &mut csr, options(nostack, preserves_flags)) };
    csr
}

fn set_here(on: bool) {
    #[cfg(target_arch = "x86_64")]
    {
        let csr = if on { read_csr() | FTZ_DAZ } else { read_csr() & !FTZ_DAZ };
        // SAFETY: only the two flush bits change; rounding mode and masks stay.
        unsafe { std::arch::asm!("ldmxcsr [{}]", in(reg) &csr, options(nostack, preserves_flags, readonly)) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = on;
}
