//! The vector instruction sets this CPU runs, detected once for every
//! kernel that picks a compiled copy at run time (the vector
//! transcendentals, the optimisers' fused sweep, the f64 dot products).

use std::sync::OnceLock;

/// The widest instruction set a run-time-dispatched kernel may use, in
/// increasing order: each level includes the ones below it.
///
/// # Examples
/// ```
/// use gradus_tensor::{SimdLevel, simd_level};
/// // Every CPU runs the scalar code; wider levels are detected.
/// assert!(simd_level() >= SimdLevel::Scalar);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SimdLevel {
    /// No vector kernels: portable code and the standard library's functions.
    Scalar,
    /// 256-bit vectors with fused multiply-add (x86-64 AVX2 and FMA).
    Avx2,
    /// 512-bit vectors (AVX-512F), with AVX2 and FMA.
    Avx512,
}

/// This CPU's [`SimdLevel`], detected on the first call and cached (kernels
/// ask per row or per parameter, so the detection is not repeated).
pub fn simd_level() -> SimdLevel {
    static LEVEL: OnceLock<SimdLevel> = OnceLock::new();
    *LEVEL.get_or_init(detect)
}

fn detect() -> SimdLevel {
    #[cfg(target_arch = "x86_64")]
    {
        let avx2 = std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma");
        if avx2 && std::arch::is_x86_feature_detected!("avx512f") {
            return SimdLevel::Avx512;
        }
        if avx2 {
            return SimdLevel::Avx2;
        }
    }
    SimdLevel::Scalar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cached_level_is_the_detected_one_and_levels_are_ordered() {
        assert_eq!(simd_level(), detect());
        assert!(SimdLevel::Scalar < SimdLevel::Avx2 && SimdLevel::Avx2 < SimdLevel::Avx512);
        #[cfg(target_arch = "x86_64")]
        if simd_level() >= SimdLevel::Avx2 {
            assert!(std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma"));
        }
    }
}
