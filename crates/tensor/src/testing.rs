//! Test helpers shared by every gradus crate: `assert_close!`, the named
//! tolerances, distances in ulps, and the reference values of the vector
//! kernels.

/// Absolute tolerance for f64 results of exact formulas.
pub const ATOL_F64: f64 = 1e-12;
/// Relative tolerance for f64 results of exact formulas.
pub const RTOL_F64: f64 = 1e-10;
/// Absolute tolerance for f32 results.
pub const ATOL_F32: f64 = 1e-6;
/// Relative tolerance for f32 results.
pub const RTOL_F32: f64 = 1e-5;

/// Whether `|a − b| <= atol + rtol·|b|` for every pair (NaN only matches
/// NaN); returns the first offending index and values otherwise.
pub fn close(a: &[f64], b: &[f64], atol: f64, rtol: f64) -> Result<(), String> {
    if a.len() != b.len() {
        return Err(format!("lengths differ: {} vs {}", a.len(), b.len()));
    }
    for (i, (&x, &y)) in a.iter().zip(b).enumerate() {
        let ok = (x.is_nan() && y.is_nan()) || x == y || (x - y).abs() <= atol + rtol * y.abs();
        if !ok {
            return Err(format!(
                "element {i}: {x} vs {y} (|diff| {:e} > atol {atol:e} + rtol {rtol:e}·|b|)",
                (x - y).abs()
            ));
        }
    }
    Ok(())
}

/// A tensor of `shape` holding 0, 1, 2, … in row-major order: test data
/// whose every element says where it came from.
///
/// # Examples
/// ```
/// let t = gradus_tensor::testing::iota(&[2, 3]);
/// assert_eq!(t.t().to_vec(), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
/// ```
pub fn iota(shape: &[usize]) -> crate::Tensor<f64> {
    let n: usize = shape.iter().product();
    crate::Tensor::from_vec((0..n).map(|i| i as f64).collect(), shape).expect("length is the product of the shape")
}

/// Values of anything `assert_close!` compares, widened to f64.
pub trait AsF64s {
    /// The values in row-major order.
    fn as_f64s(&self) -> Vec<f64>;
}

impl<T: crate::Float> AsF64s for crate::Tensor<T> {
    fn as_f64s(&self) -> Vec<f64> {
        self.to_vec().into_iter().map(T::as_f64).collect()
    }
}

impl<T: crate::Float> AsF64s for [T] {
    fn as_f64s(&self) -> Vec<f64> {
        self.iter().map(|x| x.as_f64()).collect()
    }
}

impl<T: crate::Float, const N: usize> AsF64s for [T; N] {
    fn as_f64s(&self) -> Vec<f64> {
        self.iter().map(|x| x.as_f64()).collect()
    }
}

impl<T: crate::Float> AsF64s for Vec<T> {
    fn as_f64s(&self) -> Vec<f64> {
        self.iter().map(|x| x.as_f64()).collect()
    }
}

impl AsF64s for f64 {
    fn as_f64s(&self) -> Vec<f64> {
        vec![*self]
    }
}

impl AsF64s for f32 {
    fn as_f64s(&self) -> Vec<f64> {
        vec![*self as f64]
    }
}

/// Asserts that two tensors, slices, vectors or numbers agree element by
/// element within `atol + rtol·|expected|`.
///
/// # Examples
/// ```
/// use gradus_tensor::{Tensor, assert_close};
/// let t = Tensor::from_vec(vec![0.1f64 + 0.2], &[1]).unwrap();
/// assert_close!(t, [0.3], 1e-12, 0.0);
/// ```
#[macro_export]
macro_rules! assert_close {
    ($actual:expr, $expected:expr, $atol:expr, $rtol:expr $(,)?) => {{
        use $crate::testing::AsF64s as _;
        let (a, b) = (($actual).as_f64s(), ($expected).as_f64s());
        if let Err(msg) = $crate::testing::close(&a, &b, $atol, $rtol) {
            panic!("assert_close!({}, {}) failed: {msg}", stringify!($actual), stringify!($expected));
        }
    }};
}

/// The distance between two f32s in representable values (0: equal, or
/// both NaN): the error in ulps of `a` against `b`.
pub fn ulps_f32(a: f32, b: f32) -> u64 {
    if a == b || (a.is_nan() && b.is_nan()) {
        return 0;
    }
    // Non-negative floats order as their bits, negative ones reversed.
    let key = |x: f32| {
        let i = x.to_bits() as i32;
        i64::from(if i < 0 { i32::MIN.wrapping_sub(i) } else { i })
    };
    (key(a) - key(b)).unsigned_abs()
}

/// [`ulps_f32`] for f64.
pub fn ulps_f64(a: f64, b: f64) -> u64 {
    if a == b || (a.is_nan() && b.is_nan()) {
        return 0;
    }
    let key = |x: f64| {
        let i = x.to_bits() as i64;
        i128::from(if i < 0 { i64::MIN.wrapping_sub(i) } else { i })
    };
    (key(a) - key(b)).unsigned_abs().min(u128::from(u64::MAX)) as u64
}

/// `f(x)` by the platform's libm in f64 (musl's erf): the reference the
/// vector kernels are measured against (rounded to f32, the correctly
/// rounded f32 result but for arguments within 2⁻²⁹ ulp of a rounding
/// boundary).
pub fn vmath_reference(f: crate::vmath::Function, x: f64) -> f64 {
    use crate::vmath::Function;
    match f {
        Function::Exp => x.exp(),
        Function::Ln => x.ln(),
        Function::Log1p => x.ln_1p(),
        Function::Expm1 => x.exp_m1(),
        Function::Tanh => x.tanh(),
        Function::Sigmoid => crate::sigmoid(x),
        Function::Erf => libm::erf(x),
        Function::Softplus => x.max(0.0) + (-x.abs()).exp().ln_1p(),
    }
}

#[cfg(test)]
mod ulp_tests {
    use super::*;

    #[test]
    fn ulps_count_representable_values_across_zero() {
        assert_eq!(ulps_f32(1.0, 1.0), 0);
        assert_eq!(ulps_f32(1.0, f32::from_bits(1.0f32.to_bits() + 3)), 3);
        assert_eq!(ulps_f32(-0.0, 0.0), 0);
        assert_eq!(ulps_f32(f32::from_bits(1), -f32::from_bits(1)), 2);
        assert_eq!(ulps_f32(f32::NAN, f32::NAN), 0);
        assert_eq!(ulps_f64(1.0, 1.0 + f64::EPSILON), 1);
        assert_eq!(ulps_f64(-f64::from_bits(2), f64::from_bits(1)), 3);
    }
}
