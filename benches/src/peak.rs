//! The machine's f32 FMA peak, measured: every thread of rayon's pool runs
//! independent chains of fused multiply-adds on the widest vectors the CPU
//! has (AVX-512 or AVX2 with FMA, chosen at run time; plain scalar
//! multiply-adds elsewhere), enough chains to cover the FMA units' latency.
//! The scoreboard quotes each compute-bound workload's GFLOP/s as a
//! fraction of this figure, taken in the same run.

use std::hint::black_box;

/// Iterations of the chains per call, per thread.
const ITERATIONS: usize = 1 << 22;

/// Floating-point operations one call performs on one thread, for the
/// vector width found at run time (2 per lane per FMA).
pub fn flops_per_thread() -> f64 {
    2.0 * CHAINS as f64 * lanes() as f64 * ITERATIONS as f64
}

/// Independent accumulators: 12 covers a 4-cycle FMA latency on 2 units
/// with room to spare.
const CHAINS: usize = 12;

fn lanes() -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return 16;
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            return 8;
        }
    }
    1
}

/// Runs the chains once on this thread.
pub fn run_once() {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: AVX-512F is present, checked just above.
            unsafe { avx512() };
            return;
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: AVX2 and FMA are present, checked just above.
            unsafe { avx2() };
            return;
        }
    }
    scalar();
}

fn scalar() {
    let mut acc = [1.0f32; CHAINS];
    for _ in 0..ITERATIONS {
        for a in &mut acc {
            *a = *a * 0.999_999 + 1e-7;
        }
    }
    black_box(acc);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2() {
    use std::arch::x86_64::*;
    let (m, c) = (_mm256_set1_ps(0.999_999), _mm256_set1_ps(1e-7));
    let mut acc = [_mm256_set1_ps(1.0); CHAINS];
    for _ in 0..ITERATIONS {
        for a in &mut acc {
            *a = _mm256_fmadd_ps(*a, m, c);
        }
    }
    black_box(acc);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn avx512() {
    use std::arch::x86_64::*;
    let (m, c) = (_mm512_set1_ps(0.999_999), _mm512_set1_ps(1e-7));
    let mut acc = [_mm512_set1_ps(1.0); CHAINS];
    for _ in 0..ITERATIONS {
        for a in &mut acc {
            *a = _mm512_fmadd_ps(*a, m, c);
        }
    }
    black_box(acc);
}
