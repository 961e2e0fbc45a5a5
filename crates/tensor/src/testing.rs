//! Test helpers shared by every gradus crate: `assert_close!` and the named
//! tolerances.

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
