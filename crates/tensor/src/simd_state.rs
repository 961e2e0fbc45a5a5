//! Clearing the upper halves of the vector registers after faer's kernels.
//!
//! faer's matrix kernels (AVX-512 on our machines) return with the upper
//! halves of the vector registers still "dirty", on the calling thread and,
//! for parallel products, on rayon's workers. Until something clears them,
//! every later SSE-encoded instruction on that thread pays a penalty: libm's
//! `tanhf` ran 3.5× slower on the main thread after one sequential 512³
//! product, and rayon kernels 2.2× slower after a parallel one (measured on
//! the 2-core EPYC). One `vzeroupper` restores full speed, so every call into
//! faer is followed by [`after_faer`].

use faer::Par;

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn zero_upper() {
    // SAFETY (of the intrinsic): requires AVX, which the target_feature
    // attribute asserts and the caller has checked at run time.
    core::arch::x86_64::_mm256_zeroupper();
}

/// Clears the upper halves of the vector registers on this thread (a no-op
/// without AVX). gradus does this after each of its calls into faer; call it
/// after calling faer (or other AVX-512 code that skips `vzeroupper`)
/// yourself, before running scalar or SSE code such as libm's functions.
#[inline]
pub fn clear_upper_simd_state() {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: AVX is available on this CPU, checked just above.
        unsafe { zero_upper() }
    }
}

/// Call after a faer routine that ran with parallelism `par`: clears the
/// calling thread and, if it ran on rayon, every rayon worker.
pub(crate) fn after_faer(par: Par) {
    clear_upper_simd_state();
    if par != Par::Seq {
        // Queued on every worker without waiting: they are awake from the
        // product, and blocking on a broadcast cost ~12 µs per call.
        rayon::spawn_broadcast(|_| clear_upper_simd_state());
        crate::threads::note_parallel_work();
    }
}
