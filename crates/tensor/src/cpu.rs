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

/// Runs `f` compiled for AVX2 and FMA when this CPU has them (inlined into
/// a function built for those features, so its loops use 256-bit vectors
/// where the default x86-64 target allows only SSE2's 128), else as it is.
/// The operations are the same IEEE ones either way, so the results are
/// the same bits; only their speed differs. For simple loops over slices
/// that the compiler vectorises: a byte-to-float conversion, a scaling.
/// Mark the closure `#[inline(always)]`: a closure that is not inlined is
/// compiled for the default target and gains nothing.
///
/// # Examples
/// ```
/// let v: Vec<f64> = gradus_tensor::with_avx2(|| [3u8, 255].iter().map(|&b| f64::from(b) / 255.0).collect());
/// assert_eq!(v, [3.0 / 255.0, 1.0]);
/// ```
#[inline(always)]
pub fn with_avx2<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if simd_level() >= SimdLevel::Avx2 {
        #[target_feature(enable = "avx2,fma")]
        fn compiled_for_avx2<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        // SAFETY: the CPU has AVX2 and FMA, checked just above.
        return unsafe { compiled_for_avx2(f) };
    }
    f()
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

    proptest::proptest! {
        #[test]
        fn with_avx2_gives_the_bits_of_the_default_build(bytes in proptest::collection::vec(0u8..=255, 0..300), scale in -1e3f64..1e3) {
            let convert = |b: &[u8]| b.iter().map(|&x| (f64::from(x) * scale / 255.0 + 0.1) as f32).collect::<Vec<f32>>();
            let fast = with_avx2(
                #[inline(always)]
                || convert(&bytes),
            );
            proptest::prop_assert_eq!(fast.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), convert(&bytes).iter().map(|x| x.to_bits()).collect::<Vec<_>>());
        }
    }
}
