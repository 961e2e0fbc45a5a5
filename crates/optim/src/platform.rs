//! What the optimisers take from beneath them: the element type and a few
//! helpers. With the `tensor` feature (on by default) they are
//! gradus-tensor's, shared with the rest of gradus (its buffer pool, its
//! CPU detection, its matrix products); without it, a crate that wants
//! only first-order optimisers builds no linear-algebra library, and these
//! stand-ins do the same jobs on plain vectors.

#[cfg(feature = "tensor")]
pub use gradus_tensor::{
    Float, Mat, SimdLevel, filled_vec, matmul_into, note_parallel_work, pooled_vec, recycle, simd_level, with_avx2,
    workers_awake,
};

#[cfg(feature = "tensor")]
pub(crate) use gradus_tensor::advised_vec;

#[cfg(not(feature = "tensor"))]
pub use standalone::*;

#[cfg(not(feature = "tensor"))]
mod standalone {
    use std::fmt;
    use std::iter::Sum;

    /// A floating-point element, `f32` or `f64` (gradus-tensor's `Float`
    /// when the `tensor` feature is on).
    pub trait Float:
        num_traits::Float
        + num_traits::FloatConst
        + num_traits::NumAssign
        + Sum
        + Copy
        + Send
        + Sync
        + Default
        + fmt::Debug
        + fmt::Display
        + fmt::LowerExp
        + 'static
    {
        /// Converts an `f64` constant, rounding to nearest for `f32`.
        fn of(value: f64) -> Self;
        /// Widens to `f64` (exact for both types).
        fn as_f64(self) -> f64;
    }

    impl Float for f32 {
        #[inline]
        fn of(value: f64) -> Self {
            value as f32
        }
        #[inline]
        fn as_f64(self) -> f64 {
            f64::from(self)
        }
    }

    impl Float for f64 {
        #[inline]
        fn of(value: f64) -> Self {
            value
        }
        #[inline]
        fn as_f64(self) -> f64 {
            self
        }
    }

    /// `len` copies of `value`.
    pub fn filled_vec<T: Clone>(len: usize, value: T) -> Vec<T> {
        vec![value; len]
    }

    /// A vector with room for `capacity` values.
    pub(crate) fn advised_vec<T>(capacity: usize) -> Vec<T> {
        Vec::with_capacity(capacity)
    }

    /// Scratch of `len` zeros (gradus-tensor reuses pooled buffers).
    pub fn pooled_vec<T: Float>(len: usize) -> Vec<T> {
        vec![T::zero(); len]
    }

    /// Gives scratch back (here: drops it).
    pub fn recycle<T>(v: Vec<T>) {
        drop(v);
    }

    /// Whether the thread pool's workers are awake from other parallel
    /// work (only gradus-tensor's own work is tracked: never, here).
    pub fn workers_awake() -> bool {
        false
    }

    /// Notes that parallel work ran (tracked by gradus-tensor only).
    pub fn note_parallel_work() {}

    /// The vector instructions this CPU has, as far as the update sweeps
    /// use them.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
    pub enum SimdLevel {
        /// No AVX2 and FMA.
        Scalar,
        /// AVX2 and FMA.
        Avx2,
        /// AVX-512F (with AVX2 and FMA).
        Avx512,
    }

    /// This CPU's [`SimdLevel`].
    pub fn simd_level() -> SimdLevel {
        #[cfg(target_arch = "x86_64")]
        {
            let avx2 = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
            if avx2 && is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512vl") {
                return SimdLevel::Avx512;
            }
            if avx2 {
                return SimdLevel::Avx2;
            }
        }
        SimdLevel::Scalar
    }

    /// Runs `f` (gradus-tensor compiles it for AVX2 where the CPU has it).
    pub fn with_avx2<R>(f: impl FnOnce() -> R) -> R {
        f()
    }

    /// A matrix stored row-major in a slice, used as it is or transposed.
    #[derive(Clone, Copy, Debug)]
    pub struct Mat<'a, T> {
        /// `rows · cols` values, row after row.
        pub data: &'a [T],
        /// Rows as stored.
        pub rows: usize,
        /// Columns as stored.
        pub cols: usize,
        /// Use the transpose.
        pub transposed: bool,
    }

    impl<'a, T: Copy> Mat<'a, T> {
        /// `data` as a `rows × cols` matrix.
        pub fn new(data: &'a [T], rows: usize, cols: usize) -> Self {
            Mat { data, rows, cols, transposed: false }
        }

        /// The same values read as the transpose.
        #[must_use]
        pub fn t(self) -> Self {
            Mat { transposed: !self.transposed, ..self }
        }

        fn shape(&self) -> (usize, usize) {
            if self.transposed { (self.cols, self.rows) } else { (self.rows, self.cols) }
        }

        fn at(&self, i: usize, j: usize) -> T {
            if self.transposed { self.data[j * self.cols + i] } else { self.data[i * self.cols + j] }
        }
    }

    /// `out = a·b` (or `out += a·b`), row-major, by the textbook loops
    /// (gradus-tensor's blocked products are faster on large matrices).
    ///
    /// # Panics
    /// If the inner dimensions differ or `out` does not hold the product.
    pub fn matmul_into<T: Float>(out: &mut [T], a: Mat<'_, T>, b: Mat<'_, T>, accumulate: bool) {
        let ((m, k), (k2, n)) = (a.shape(), b.shape());
        assert_eq!(k, k2, "matmul_into: {m} × {k} by {k2} × {n}");
        assert_eq!(out.len(), m * n, "matmul_into: the output holds {} values, not {m} × {n}", out.len());
        for i in 0..m {
            for j in 0..n {
                let s = (0..k).fold(T::zero(), |s, p| s + a.at(i, p) * b.at(p, j));
                out[i * n + j] = if accumulate { out[i * n + j] + s } else { s };
            }
        }
    }
}
