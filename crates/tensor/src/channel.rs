//! Per-channel kernels of batch normalisation over `[N, C, L]` (channel
//! `c` of example `n` is the contiguous run of `L` values at `(n·C + c)·L`):
//! each channel's mean and biased variance, the normalise-scale-shift pass
//! `x·scale[c] + shift[c]`, the backward's two sums per channel, and its
//! input-gradient pass `p[c]·g + q[c]·x + r[c]`. Each is one pass over the
//! data (the statistics two: the mean, then the squares about it, which is
//! exact where one pass of sums of squares cancels), sums taken in sixteen
//! lanes per run; on the pool from [`PARALLEL_THRESHOLD`](crate::PARALLEL_THRESHOLD)
//! elements, channels side by side for the sums and examples side by side
//! for the element passes, with the same bits on any thread count.

use crate::{Float, Tensor};
use rayon::prelude::*;

/// `[N, C, L]` of `t`, which must have rank 3.
fn dims<T: Float>(t: &Tensor<T>, op: &str) -> (usize, usize, usize) {
    match t.shape() {
        &[n, c, l] => (n, c, l),
        other => panic!("{op}: expected [N, C, L], got {other:?}"),
    }
}

/// Σ f(x) over `xs` in sixteen interleaved lanes (lane k takes elements
/// k, k + 16, …), the lanes then added in order.
#[inline(always)]
fn sum_of<T: Float>(xs: &[T], f: impl Fn(T) -> T) -> T {
    let mut acc = [T::zero(); 16];
    let chunks = xs.chunks_exact(16);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a += f(x);
        }
    }
    for (a, &x) in acc.iter_mut().zip(rest) {
        *a += f(x);
    }
    acc.into_iter().fold(T::zero(), |s, a| s + a)
}

fn parallel(elements: usize) -> bool {
    elements >= crate::PARALLEL_THRESHOLD && rayon::current_num_threads() > 1
}

/// `f(c)` for every channel, side by side when the data is large.
fn per_channel<T: Float>(c: usize, elements: usize, f: impl Fn(usize) -> (T, T) + Sync) -> (Vec<T>, Vec<T>) {
    let pairs: Vec<(T, T)> =
        if parallel(elements) { (0..c).into_par_iter().map(&f).collect() } else { (0..c).map(f).collect() };
    pairs.into_iter().unzip()
}

/// `f(x_row, out_row)` for each example's `C·L` values, side by side when
/// the data is large.
fn per_example<T: Float>(out: &mut [T], row: usize, f: impl Fn(usize, &mut [T]) + Sync) {
    if row == 0 {
        return;
    }
    if parallel(out.len()) {
        out.par_chunks_mut(row).enumerate().for_each(|(n, o)| f(n, o));
    } else {
        out.chunks_mut(row).enumerate().for_each(|(n, o)| f(n, o));
    }
}

impl<T: Float> Tensor<T> {
    /// The mean and the biased variance of each channel of `[N, C, L]`,
    /// over its `N·L` values.
    ///
    /// ```
    /// use gradus_tensor::Tensor;
    /// let x = Tensor::from_vec(vec![1.0, 3.0, 10.0, 10.0, 5.0, 7.0, 20.0, 40.0], &[2, 2, 2]).unwrap();
    /// let (mean, var) = x.channel_stats();
    /// assert_eq!(mean, [4.0, 20.0]);
    /// assert_eq!(var, [5.0, 150.0]);
    /// ```
    ///
    /// # Panics
    /// If `self` is not 3-D.
    #[track_caller]
    pub fn channel_stats(&self) -> (Vec<T>, Vec<T>) {
        let (n, c, l) = dims(self, "channel_stats");
        let x = self.contiguous();
        let x = x.as_slice().expect("contiguous");
        let count = T::of((n * l) as f64);
        per_channel(c, x.len(), |ch| {
            let run = |i: usize| &x[(i * c + ch) * l..][..l];
            let sum = (0..n).fold(T::zero(), |s, i| s + sum_of(run(i), |v| v));
            let mean = sum / count;
            let sq = (0..n).fold(T::zero(), |s, i| {
                s + sum_of(run(i), |v| {
                    let d = v - mean;
                    d * d
                })
            });
            (mean, sq / count)
        })
    }

    /// `x·scale[c] + shift[c]` for every value of channel `c` of `[N, C, L]`.
    ///
    /// # Panics
    /// If `self` is not 3-D, or `scale` or `shift` is not one value per channel.
    #[track_caller]
    pub fn channel_affine(&self, scale: &[T], shift: &[T]) -> Tensor<T> {
        let (_, c, l) = dims(self, "channel_affine");
        assert!(
            scale.len() == c && shift.len() == c,
            "channel_affine: {c} channels, {} scales, {} shifts",
            scale.len(),
            shift.len()
        );
        let x = self.contiguous();
        let x = x.as_slice().expect("contiguous");
        // Every value is written below: a pooled buffer, not a zeroed one.
        let mut out = Tensor::<T>::empty(self.shape());
        per_example(out.data_mut(), c * l, |i, o| {
            let xs = &x[i * c * l..][..c * l];
            for ch in 0..c {
                let (s, b) = (scale[ch], shift[ch]);
                for (y, &v) in o[ch * l..][..l].iter_mut().zip(&xs[ch * l..][..l]) {
                    *y = v * s + b;
                }
            }
        });
        out
    }

    /// For `g` and `self` (`x`), both `[N, C, L]`: Σ g and Σ g·(x − mean\[c\])
    /// over each channel, the two sums batch norm's backward needs.
    ///
    /// # Panics
    /// If the shapes differ or are not 3-D, or `mean` is not one value per channel.
    #[track_caller]
    pub fn channel_grad_sums(&self, g: &Tensor<T>, mean: &[T]) -> (Vec<T>, Vec<T>) {
        let (n, c, l) = dims(self, "channel_grad_sums");
        assert!(
            g.shape() == self.shape() && mean.len() == c,
            "channel_grad_sums: shapes {:?} and {:?}",
            self.shape(),
            g.shape()
        );
        let (x, g) = (self.contiguous(), g.contiguous());
        let (x, g) = (x.as_slice().expect("contiguous"), g.as_slice().expect("contiguous"));
        per_channel(c, x.len(), |ch| {
            let m = mean[ch];
            let (mut sg, mut sgx) = (T::zero(), T::zero());
            for i in 0..n {
                let at = (i * c + ch) * l;
                let (xs, gs) = (&x[at..][..l], &g[at..][..l]);
                sg += sum_of(gs, |v| v);
                // Σ g·(x − m) in lanes, over the run's pairs.
                let mut acc = [T::zero(); 16];
                let (xc, gc) = (xs.chunks_exact(16), gs.chunks_exact(16));
                let (xr, gr) = (xc.remainder(), gc.remainder());
                for (xb, gb) in xc.zip(gc) {
                    for k in 0..16 {
                        acc[k] += gb[k] * (xb[k] - m);
                    }
                }
                for (k, (&xv, &gv)) in xr.iter().zip(gr).enumerate() {
                    acc[k] += gv * (xv - m);
                }
                sgx += acc.into_iter().fold(T::zero(), |a, v| a + v);
            }
            (sg, sgx)
        })
    }

    /// `p[c]·g + q[c]·x + r[c]` for `g` and `self` (`x`), both `[N, C, L]`:
    /// batch norm's input gradient with its per-channel coefficients.
    ///
    /// # Panics
    /// If the shapes differ or are not 3-D, or a coefficient is not one value per channel.
    #[track_caller]
    pub fn channel_combine(&self, g: &Tensor<T>, p: &[T], q: &[T], r: &[T]) -> Tensor<T> {
        let (_, c, l) = dims(self, "channel_combine");
        assert!(g.shape() == self.shape(), "channel_combine: shapes {:?} and {:?}", self.shape(), g.shape());
        assert!(p.len() == c && q.len() == c && r.len() == c, "channel_combine: coefficients for {c} channels");
        let (x, g) = (self.contiguous(), g.contiguous());
        let (x, g) = (x.as_slice().expect("contiguous"), g.as_slice().expect("contiguous"));
        let mut out = Tensor::<T>::empty(self.shape());
        per_example(out.data_mut(), c * l, |i, o| {
            let (xs, gs) = (&x[i * c * l..][..c * l], &g[i * c * l..][..c * l]);
            for ch in 0..c {
                let (pc, qc, rc) = (p[ch], q[ch], r[ch]);
                let run = ch * l..(ch + 1) * l;
                for ((y, &xv), &gv) in o[run.clone()].iter_mut().zip(&xs[run.clone()]).zip(&gs[run]) {
                    *y = pc * gv + qc * xv + rc;
                }
            }
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_match_a_plain_loop() {
        let x = Tensor::from_vec((0..60).map(|i| ((i * 37) % 11) as f64 - 4.0).collect(), &[3, 4, 5]).unwrap();
        let g = Tensor::from_vec((0..60).map(|i| ((i * 13) % 7) as f64 - 3.0).collect(), &[3, 4, 5]).unwrap();
        let (mean, var) = x.channel_stats();
        let (sg, sgx) = x.channel_grad_sums(&g, &mean);
        let (xv, gv) = (x.to_vec(), g.to_vec());
        for ch in 0..4 {
            let idx: Vec<usize> = (0..3).flat_map(|n| (0..5).map(move |k| (n * 4 + ch) * 5 + k)).collect();
            let m = idx.iter().map(|&i| xv[i]).sum::<f64>() / 15.0;
            let v = idx.iter().map(|&i| (xv[i] - m).powi(2)).sum::<f64>() / 15.0;
            assert!((mean[ch] - m).abs() < 1e-12 && (var[ch] - v).abs() < 1e-12);
            assert!((sg[ch] - idx.iter().map(|&i| gv[i]).sum::<f64>()).abs() < 1e-12);
            assert!((sgx[ch] - idx.iter().map(|&i| gv[i] * (xv[i] - m)).sum::<f64>()).abs() < 1e-12);
        }
        let y = x.channel_combine(&g, &[1.0, 2.0, 3.0, 4.0], &[0.5; 4], &[-1.0; 4]).to_vec();
        assert_eq!(y[5 + 2], 2.0 * gv[7] + 0.5 * xv[7] - 1.0);
        let a = x.channel_affine(&[2.0; 4], &[1.0, 0.0, 0.0, 0.0]).to_vec();
        assert_eq!((a[0], a[5]), (2.0 * xv[0] + 1.0, 2.0 * xv[5]));
    }
}
