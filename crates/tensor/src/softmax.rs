//! Numerically stable logsumexp, softmax and log_softmax along an axis, all
//! computed with the maximum subtracted.

use crate::axes::Axes;
use crate::error::or_panic;
use crate::layout::resolve_axis;
use crate::storage::alloc;
use crate::vmath::Function;
use crate::{Float, Tensor};
use rayon::prelude::*;

/// The row maximum to subtract: 0 when the maximum is infinite, so rows of
/// all −∞ give −∞ / 0 probabilities instead of NaN (as PyTorch).
#[inline]
fn shift<T: Float>(row: &[T]) -> T {
    let m = row.iter().copied().fold(T::neg_infinity(), |m, x| if x > m || x.is_nan() { x } else { m });
    if m.is_infinite() { T::zero() } else { m }
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
            let m = shift(row);
            for (o, &x) in out.iter_mut().zip(row) {
                *o = x - m;
            }
            crate::vmath::apply_in_place(Function::Exp, out);
            let total: T = out.iter().copied().sum();
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
            let m = shift(row);
            // exp(x − m) in the output row first, for its sum.
            for (o, &x) in out.iter_mut().zip(row) {
                *o = x - m;
            }
            crate::vmath::apply_in_place(Function::Exp, out);
            let total: T = out.iter().copied().sum();
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
    use crate::Tensor;

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
