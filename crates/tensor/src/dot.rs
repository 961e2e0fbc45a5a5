//! Sums of products of two slices, accumulated in f64 in eight
//! independent lanes: one running sum waits on each add in turn (four
//! cycles an element), eight lanes vectorise and keep the adder busy.

use crate::Float;

/// Lanes of the running sum: two AVX2 registers of f64, or one AVX-512.
const LANES: usize = 8;
/// Elements of one partial sum of a long slice. Fixed, so the partial sums
/// and the order they are added in, hence the bits of the result, do not
/// depend on how many threads computed them.
const BLOCK: usize = 1 << 14;
/// From this many elements a sum is taken in [`BLOCK`]s, split across the
/// pool's threads when its workers are awake (as they are in a backward
/// pass, where a trainer takes each gradient's sum of squares).
const PARALLEL_DOT_MIN: usize = 1 << 16;

/// Σ aᵢbᵢ in f64 over the common length of `a` and `b`.
///
/// The terms are summed in eight interleaved partial sums, then those
/// in order, so the result can differ from a left-to-right sum in the last
/// bits (it is usually closer to the exact sum). From
/// 65 536 elements the slices are summed in blocks of 16 384
/// and the blocks' sums added in order, on one thread or several with the
/// same bits.
///
/// # Examples
/// ```
/// assert_eq!(gradus_tensor::dot_f64(&[1.0f32, 2.0, 3.0], &[4.0, 5.0, 6.0]), 32.0);
/// ```
pub fn dot_f64<T: Float>(a: &[T], b: &[T]) -> f64 {
    let n = a.len().min(b.len());
    if n < PARALLEL_DOT_MIN {
        return dot_block(a, b);
    }
    let (a, b) = (&a[..n], &b[..n]);
    let partials: Vec<f64> = if rayon::current_num_threads() > 1 && crate::workers_awake() {
        use rayon::prelude::*;
        let sums = a.par_chunks(BLOCK).zip(b.par_chunks(BLOCK)).map(|(x, y)| dot_block(x, y)).collect();
        crate::threads::note_parallel_work();
        sums
    } else {
        a.chunks(BLOCK).zip(b.chunks(BLOCK)).map(|(x, y)| dot_block(x, y)).collect()
    };
    partials.iter().sum()
}

/// [`dot`] on the best instruction set this CPU has.
fn dot_block<T: Float>(a: &[T], b: &[T]) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if crate::simd_level() >= crate::SimdLevel::Avx2 {
        // SAFETY: the CPU has AVX2, checked just above.
        return unsafe { dot_avx2(a, b) };
    }
    dot(a, b)
}

/// [`dot`] compiled for AVX2: the same operations in the same order on
/// wider registers, so the same bits (without it, SSE2's two lanes and
/// their shuffles took 7% of an MLP step).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn dot_avx2<T: Float>(a: &[T], b: &[T]) -> f64 {
    dot(a, b)
}

#[inline(always)]
fn dot<T: Float>(a: &[T], b: &[T]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f64; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        let x: [f64; LANES] = std::array::from_fn(|l| x[l].as_f64());
        let y: [f64; LANES] = std::array::from_fn(|l| y[l].as_f64());
        for l in 0..LANES {
            acc[l] += x[l] * y[l];
        }
    }
    for (l, (x, y)) in ra.iter().zip(rb).enumerate() {
        acc[l] += x.as_f64() * y.as_f64();
    }
    acc.iter().sum()
}

/// Σ aᵢ² in f64: [`dot_f64`] of `a` with itself.
///
/// # Examples
/// ```
/// assert_eq!(gradus_tensor::sum_of_squares_f64(&[3.0f64, 4.0]), 25.0);
/// ```
pub fn sum_of_squares_f64<T: Float>(a: &[T]) -> f64 {
    dot_f64(a, a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_avx2_path_gives_the_portable_bits() {
        let a: Vec<f32> = (0..1003).map(|i| ((i * 7919 % 1000) as f32 - 500.0) * 1.7e-3).collect();
        let b: Vec<f32> = (0..1003).map(|i| (i as f32).sin()).collect();
        assert_eq!(dot_f64(&a, &b).to_bits(), dot(&a, &b).to_bits());
        assert_eq!(sum_of_squares_f64(&b).to_bits(), dot(&b, &b).to_bits());
    }

    #[test]
    fn empty_and_unequal_lengths() {
        assert_eq!(dot_f64::<f32>(&[], &[]), 0.0);
        assert_eq!(dot_f64(&[1.0f64, 2.0, 3.0], &[1.0, 1.0]), 3.0);
    }

    #[test]
    fn overflow_of_f32_squares_is_finite_in_f64_and_nan_propagates() {
        assert_eq!(sum_of_squares_f64(&[f32::MAX; 3]), 3.0 * (f32::MAX as f64).powi(2));
        assert!(sum_of_squares_f64(&[1.0f32, f32::NAN, 2.0]).is_nan());
        assert_eq!(sum_of_squares_f64(&[f64::INFINITY, 1.0]), f64::INFINITY);
    }

    #[test]
    fn long_sums_have_the_same_bits_on_any_number_of_threads() {
        let n = 5 * BLOCK + 123;
        let a: Vec<f32> = (0..n).map(|i| ((i * 7919 % 1000) as f32 - 500.0) * 1.7e-3).collect();
        let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
        let blocks: f64 = a.chunks(BLOCK).zip(b.chunks(BLOCK)).map(|(x, y)| dot(x, y)).sum();
        let on = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a pool");
            pool.install(|| {
                crate::threads::note_parallel_work(); // the workers awake: the parallel path
                dot_f64(&a, &b).to_bits()
            })
        };
        assert_eq!(on(1), blocks.to_bits());
        assert_eq!(on(2), blocks.to_bits());
        assert_eq!(on(3), blocks.to_bits());
        let exact: f64 = a.iter().zip(&b).map(|(x, y)| *x as f64 * *y as f64).sum();
        assert!((dot_f64(&a, &b) - exact).abs() <= 1e-12 * exact.abs().max(1.0));
    }

    proptest! {
        /// Integers below 2²⁰ multiply and add exactly in f64, so any
        /// order of summation gives the left-to-right sum.
        #[test]
        fn equals_the_sequential_sum_when_exact(v in proptest::collection::vec((-1000i32..1000, -1000i32..1000), 0..100)) {
            let a: Vec<f32> = v.iter().map(|p| p.0 as f32).collect();
            let b: Vec<f32> = v.iter().map(|p| p.1 as f32).collect();
            let sequential: f64 = a.iter().zip(&b).map(|(x, y)| *x as f64 * *y as f64).sum();
            prop_assert_eq!(dot_f64(&a, &b), sequential);
        }
    }
}
