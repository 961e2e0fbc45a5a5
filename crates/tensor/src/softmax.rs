//! Numerically stable logsumexp, softmax and log_softmax along an axis, all
//! computed with the maximum subtracted.

use crate::axes::Axes;
use crate::error::or_panic;
use crate::layout::resolve_axis;
use crate::storage::alloc;
use crate::vmath::Function;
use crate::{Float, Tensor};
use rayon::prelude::*;

/// Independent partial results of a row reduction: one running sum waits
/// on each add in turn (a 1000-class row took 3000 cycles), sixteen lanes
/// vectorise and keep the adder busy.
const LANES: usize = 16;

/// Σ row, in sixteen interleaved partial sums added in order at the end:
/// the result can differ from a left-to-right sum in the last bits (it is
/// usually closer to the exact sum). The sum softmax, log-softmax and
/// cross-entropy take over a row.
///
/// # Examples
/// ```
/// assert_eq!(gradus_tensor::row_sum(&[1.0f32, 2.0, 3.5]), 6.5);
/// ```
pub fn row_sum<T: Float>(row: &[T]) -> T {
    in_lanes(row, T::zero(), |s, x| s + x)
}

/// The row maximum softmax subtracts: NaN if the row holds one, and 0 when
/// the maximum is infinite, so rows of all −∞ give −∞ / 0 probabilities
/// instead of NaN (as PyTorch). Taken in sixteen lanes, as [`row_sum`].
///
/// # Examples
/// ```
/// assert_eq!(gradus_tensor::softmax_shift(&[1.0f32, 3.0, 2.0]), 3.0);
/// assert_eq!(gradus_tensor::softmax_shift(&[f32::NEG_INFINITY; 3]), 0.0);
/// assert!(gradus_tensor::softmax_shift(&[1.0f32, f32::NAN]).is_nan());
/// ```
pub fn softmax_shift<T: Float>(row: &[T]) -> T {
    let m = in_lanes(row, T::neg_infinity(), |m, x| if x > m || x.is_nan() { x } else { m });
    if m.is_infinite() { T::zero() } else { m }
}

/// `row` folded by `f` from `init` in [`LANES`] interleaved partial results
/// (lane k takes elements k, k + 16, …), which are then folded in order:
/// for at most sixteen elements, the left-to-right fold.
#[inline(always)]
fn in_lanes<T: Float>(row: &[T], init: T, f: impl Fn(T, T) -> T) -> T {
    let mut acc = [init; LANES];
    let chunks = row.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a = f(*a, x);
        }
    }
    for (a, &x) in acc.iter_mut().zip(rest) {
        *a = f(*a, x);
    }
    acc.into_iter().fold(init, f)
}

/// Applies a row kernel to every row of `t` along `axis`, moving that axis
/// last (and back) when it is not already.
fn along_axis<T: Float>(
    t: &Tensor<T>,
    op: &'static str,
    axis: isize,
    row_fn: impl Fn(&[T], &mut [T]) + Sync,
) -> Tensor<T> {
    let a = or_panic(resolve_axis(op, axis, t.shape()));
    let last = t.rank() - 1;
    let moved = if a == last { t.contiguous() } else { t.transpose(a as isize, last as isize).contiguous() };
    let n = moved.shape()[last];
    let input = moved.as_slice().expect("made contiguous");
    let mut out = alloc(input.len());
    if n > 0 {
        if input.len() >= crate::PARALLEL_THRESHOLD {
            out.par_chunks_mut(n).zip(input.par_chunks(n)).for_each(|(o, i)| row_fn(i, o));
            crate::threads::note_parallel_work();
        } else {
            out.chunks_mut(n).zip(input.chunks(n)).for_each(|(o, i)| row_fn(i, o));
        }
    }
    let result = Tensor::from_parts(out, moved.shape());
    if a == last { result } else { result.transpose(a as isize, last as isize).contiguous() }
}

impl<T: Float> Tensor<T> {
    /// log Σ exp(x) over `axes`, computed as m + log Σ exp(x − m) so it stays
    /// finite at ±1000 in f32 and f64.
    ///
    /// # Panics
    /// If an axis is out of range or repeated.
    #[track_caller]
    pub fn logsumexp(&self, axes: impl Into<Axes>, keepdim: bool) -> Self {
        let axes = axes.into();
        let m = self.max(axes.clone(), true).map(|m| if m.is_infinite() { T::zero() } else { m });
        let lse = (self - &m).exp().sum(axes.clone(), true).ln() + m;
        if keepdim { lse } else { lse.squeeze_axes(&axes, self.shape()) }
    }

    /// softmax(x)ₖ = exp(xₖ − m) / Σⱼ exp(xⱼ − m) along `axis`.
    ///
    /// # Panics
    /// If the axis is out of range (or the tensor is 0-d).
    ///
    /// # Examples
    /// ```
    /// use gradus_tensor::Tensor;
    /// let p = Tensor::from_vec(vec![1000.0f32, 1000.0], &[2]).unwrap().softmax(0);
    /// assert_eq!(p.to_vec(), vec![0.5, 0.5]);
    /// ```
    #[track_caller]
    pub fn softmax(&self, axis: isize) -> Self {
        along_axis(self, "softmax", axis, |row, out| {
            let m = softmax_shift(row);
            for (o, &x) in out.iter_mut().zip(row) {
                *o = x - m;
            }
            crate::vmath::apply_in_place(Function::Exp, out);
            let total = row_sum(out);
            let inv = total.recip();
            out.iter_mut().for_each(|o| *o *= inv);
        })
    }

    /// log softmax(x)ₖ = xₖ − m − log Σⱼ exp(xⱼ − m) along `axis`.
    ///
    /// # Panics
    /// If the axis is out of range (or the tensor is 0-d).
    #[track_caller]
    pub fn log_softmax(&self, axis: isize) -> Self {
        along_axis(self, "log_softmax", axis, |row, out| {
            let m = softmax_shift(row);
            // exp(x − m) in the output row first, for its sum.
            for (o, &x) in out.iter_mut().zip(row) {
                *o = x - m;
            }
            crate::vmath::apply_in_place(Function::Exp, out);
            let total = row_sum(out);
            let log_total = total.ln() + m;
            for (o, &x) in out.iter_mut().zip(row) {
                *o = x - log_total;
            }
        })
    }

    /// Drops the axes a keepdim reduction over `axes` left as length 1.
    fn squeeze_axes(&self, axes: &Axes, input_shape: &[usize]) -> Self {
        let mask = or_panic(axes.mask("reduce", input_shape));
        let shape: Vec<isize> = self.shape().iter().zip(mask).filter(|(_, r)| !r).map(|(&d, _)| d as isize).collect();
        self.reshape(&shape)
    }
}

#[cfg(test)]
mod tests {
    use super::{row_sum, softmax_shift};
    use crate::Tensor;
    use proptest::prelude::*;

    proptest! {
        /// The lane sum is within the bound of any order of summation
        /// (n·ε·Σ|x|) of the exact sum, taken in f64 from f32 values.
        #[test]
        fn the_lane_sum_is_a_sum(row in prop::collection::vec(-1e3f32..1e3, 0..200)) {
            let exact: f64 = row.iter().map(|&x| x as f64).sum();
            let bound = row.len() as f64 * f32::EPSILON as f64 * row.iter().map(|&x| x.abs() as f64).sum::<f64>();
            prop_assert!((row_sum(&row) as f64 - exact).abs() <= bound + 1e-30);
        }

        /// The lane maximum is the row's maximum, whatever its length.
        #[test]
        fn the_lane_maximum_is_the_maximum(row in prop::collection::vec(-1e3f64..1e3, 1..200)) {
            let serial = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            prop_assert_eq!(softmax_shift(&row), serial);
        }
    }

    #[test]
    fn the_lane_reductions_at_the_edges() {
        assert_eq!(row_sum::<f64>(&[]), 0.0);
        // 17 values: sixteen lanes and a remainder of one.
        let row: Vec<f64> = (1..=17).map(f64::from).collect();
        assert_eq!(row_sum(&row), 153.0);
        assert_eq!(softmax_shift(&row), 17.0);
        let mut with_nan = row.clone();
        with_nan[16] = f64::NAN;
        assert!(softmax_shift(&with_nan).is_nan() && row_sum(&with_nan).is_nan());
        assert_eq!(softmax_shift(&[f64::INFINITY, 1.0]), 0.0);
        assert_eq!(softmax_shift::<f64>(&[]), 0.0);
    }

    #[test]
    fn log_softmax_of_all_minus_infinity_is_not_nan() {
        let t = Tensor::from_vec(vec![f64::NEG_INFINITY, 0.0], &[2]).unwrap();
        assert_eq!(t.log_softmax(0).to_vec(), vec![f64::NEG_INFINITY, 0.0]);
        let all = Tensor::full(&[3], f64::NEG_INFINITY);
        assert_eq!(all.logsumexp(.., false).item(), f64::NEG_INFINITY);
    }

    #[test]
    fn softmax_along_the_first_axis() {
        let t = Tensor::from_vec(vec![0.0f64, 1.0, 0.0, 1.0], &[2, 2]).unwrap();
        let p = t.softmax(0);
        assert_eq!(p.to_vec(), vec![0.5, 0.5, 0.5, 0.5]);
        assert!(p.is_contiguous());
    }
}
