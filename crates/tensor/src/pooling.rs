//! Pooling over the last two axes of `[N, C, H, W]` tensors, for every
//! pooling layer PyTorch has: each output position reads a window of rows
//! and a window of columns ([`PoolWindows`]), fixed by kernel, stride,
//! padding, dilation and ceil mode, or adaptively by the output size.
//!
//! - [`Tensor::max_pool`]: the maximum of each window and its position
//!   (row · W + column in the plane), as PyTorch picks it: the first
//!   maximum in row-major order, a NaN wins;
//! - [`Tensor::window_sum`]: each window's sum times a per-position scale
//!   (1/divisor gives every average pool), and its adjoint
//!   [`Tensor::window_sum_adjoint`].

use crate::error::{Result, TensorError, or_panic};
use crate::storage::alloc;
use crate::{Float, Tensor};
use rayon::prelude::*;

/// One axis's window: taps `start + i·step` for `i < len`, those outside
/// `0..size` left out (padding).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// The first tap, negative inside the leading padding.
    pub start: isize,
    /// The number of taps.
    pub len: usize,
    /// The distance between taps (the dilation).
    pub step: usize,
}

impl Window {
    /// The taps inside `0..size`: every `step`-th position of `lo..hi`.
    fn taps(self, size: usize) -> std::iter::StepBy<std::ops::Range<usize>> {
        let step = self.step as isize;
        // The first tap at or after 0, and one past the last before `size`.
        let skip = if self.start < 0 { (-self.start + step - 1) / step } else { 0 };
        let lo = self.start + skip * step;
        let end = self.start + (self.len as isize - 1) * step + 1;
        let hi = end.min(size as isize);
        let (lo, hi) = if lo >= hi { (0, 0) } else { (lo as usize, hi as usize) };
        (lo..hi).step_by(self.step.max(1))
    }
}

/// The windows of a 2-D pooling: one per output row and one per output
/// column, over an input plane of `input` (H, W).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolWindows {
    /// The input plane's (rows, columns).
    pub input: [usize; 2],
    /// Row windows, one per output row.
    pub rows: Vec<Window>,
    /// Column windows, one per output column.
    pub cols: Vec<Window>,
}

/// PyTorch's pooling output length (`pooling_output_shape`): ceil mode
/// rounds up, but a last window must start inside the input or its left
/// padding.
fn pooled_len(input: usize, kernel: usize, stride: usize, pad: usize, dilation: usize, ceil: bool) -> Option<usize> {
    let span = dilation * (kernel - 1) + 1;
    let padded = input + 2 * pad;
    if padded < span {
        return None;
    }
    let room = padded - span;
    let mut out = if ceil { room.div_ceil(stride) } else { room / stride } + 1;
    if ceil && (out - 1) * stride >= input + pad {
        out -= 1;
    }
    Some(out)
}

impl PoolWindows {
    /// The windows of a fixed-kernel pooling (`max_pool2d`, `avg_pool2d`)
    /// over `input` (H, W), with PyTorch's output sizes and checks: stride,
    /// kernel and dilation positive, padding at most half the dilated
    /// kernel, and at least one output.
    ///
    /// ```
    /// use gradus_tensor::PoolWindows;
    ///
    /// // 5 columns, kernel 2, stride 2: floor mode drops the last column,
    /// // ceil mode keeps it in a window of its own.
    /// let floor = PoolWindows::fixed([5, 5], [2, 2], [2, 2], [0, 0], [1, 1], false).unwrap();
    /// let ceil = PoolWindows::fixed([5, 5], [2, 2], [2, 2], [0, 0], [1, 1], true).unwrap();
    /// assert_eq!((floor.cols.len(), ceil.cols.len()), (2, 3));
    /// ```
    ///
    /// # Errors
    /// [`TensorError::InvalidArgument`] naming the argument.
    pub fn fixed(
        input: [usize; 2],
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        dilation: [usize; 2],
        ceil_mode: bool,
    ) -> Result<Self> {
        let op = "pool2d";
        let bad = |reason: String| TensorError::InvalidArgument { op, reason };
        let mut axes: [Vec<Window>; 2] = Default::default();
        for a in 0..2 {
            if kernel[a] == 0 || stride[a] == 0 || dilation[a] == 0 {
                return Err(bad(format!(
                    "kernel {kernel:?}, stride {stride:?} and dilation {dilation:?} must be positive"
                )));
            }
            let span = dilation[a] * (kernel[a] - 1) + 1;
            if padding[a] > span / 2 {
                return Err(bad(format!("padding {padding:?} must be at most half the (dilated) kernel {kernel:?}")));
            }
            let out = pooled_len(input[a], kernel[a], stride[a], padding[a], dilation[a], ceil_mode)
                .filter(|&o| o > 0)
                .ok_or_else(|| {
                    bad(format!("the input {input:?} is smaller than the kernel {kernel:?} with padding {padding:?}"))
                })?;
            axes[a] = (0..out)
                .map(|o| Window {
                    start: (o * stride[a]) as isize - padding[a] as isize,
                    len: kernel[a],
                    step: dilation[a],
                })
                .collect();
        }
        let [rows, cols] = axes;
        Ok(Self { input, rows, cols })
    }

    /// The windows of an adaptive pooling to `output` (H_out, W_out), as
    /// PyTorch's: output i reads ⌊i·in/out⌋ .. ⌈(i + 1)·in/out⌉.
    ///
    /// # Errors
    /// If an output size is 0.
    pub fn adaptive(input: [usize; 2], output: [usize; 2]) -> Result<Self> {
        if output.contains(&0) {
            return Err(TensorError::InvalidArgument {
                op: "adaptive_pool2d",
                reason: format!("the output size {output:?} must be positive"),
            });
        }
        let axis = |n: usize, o: usize| -> Vec<Window> {
            (0..o)
                .map(|i| {
                    let start = i * n / o;
                    let end = ((i + 1) * n).div_ceil(o);
                    Window { start: start as isize, len: end - start, step: 1 }
                })
                .collect()
        };
        Ok(Self { input, rows: axis(input[0], output[0]), cols: axis(input[1], output[1]) })
    }

    /// The output plane's (rows, columns).
    pub fn output(&self) -> [usize; 2] {
        [self.rows.len(), self.cols.len()]
    }

    /// The number of in-range taps of each output position (row-major):
    /// the divisor of an average that leaves the padding out.
    pub fn counts(&self) -> Vec<usize> {
        let rows = self.rows.iter().map(|w| w.taps(self.input[0]).count());
        rows.flat_map(|r| self.cols.iter().map(move |w| r * w.taps(self.input[1]).count())).collect()
    }

    fn check<T: Float>(&self, op: &'static str, x: &Tensor<T>, plane: [usize; 2]) -> Result<[usize; 2]> {
        if x.rank() != 4 || [x.shape()[2], x.shape()[3]] != plane {
            return Err(TensorError::InvalidArgument {
                op,
                reason: format!("expected a tensor [N, C, {}, {}], got {:?}", plane[0], plane[1], x.shape()),
            });
        }
        Ok([x.shape()[0], x.shape()[1]])
    }
}

/// One plane's max pool when output column j's window starts at
/// `first.start + j·stride`: for each output row, the taps in row-major
/// order, each compared across the whole row of outputs at once, so the
/// comparisons of neighbouring outputs do not wait on each other (one
/// window at a time, each tap waited on the one before). The same rule as
/// the general path: the first tap, then a larger value or a NaN.
fn max_rows_affine<T: Float>(
    plane: &[T],
    [h, w]: [usize; 2],
    rows: &[Window],
    first: Window,
    stride: usize,
    v: &mut [T],
    ix: &mut [usize],
) {
    let ow = v.len() / rows.len().max(1);
    for (i, rw) in rows.iter().enumerate() {
        let (best, arg) = (&mut v[i * ow..(i + 1) * ow], &mut ix[i * ow..(i + 1) * ow]);
        best.fill(T::neg_infinity());
        arg.fill(usize::MAX);
        for r in rw.taps(h) {
            let row = &plane[r * w..(r + 1) * w];
            for b in 0..first.len {
                // Output j reads column j·stride + off.
                let off = first.start + (b * first.step) as isize;
                let lo = if off < 0 { ((-off) as usize).div_ceil(stride) } else { 0 };
                let room = w as isize - off;
                let hi = if room <= 0 { 0 } else { (room as usize).div_ceil(stride).min(ow) };
                for j in lo..hi {
                    let c = (j * stride) as isize + off;
                    let val = row[c as usize];
                    let take = (arg[j] == usize::MAX) | (val > best[j]) | val.is_nan();
                    // As in `max_whole`: the index by an integer select,
                    // the value read back through it, no branch.
                    arg[j] = std::hint::select_unpredictable(take, r * w + c as usize, arg[j]);
                    best[j] = plane[arg[j]];
                }
            }
        }
        arg.iter_mut().filter(|a| **a == usize::MAX).for_each(|a| *a = 0);
    }
}

/// The in-plane starts of `ws` when every window has `k` taps `step` apart,
/// all inside `0..size` (no padding reached): the windows a fixed-kernel
/// pool without padding, or away from it, makes.
fn whole_windows(ws: &[Window], size: usize, k: usize) -> Option<(Vec<usize>, usize)> {
    let step = ws.first()?.step;
    let starts = ws
        .iter()
        .map(|win| {
            let inside = win.start >= 0 && win.start as usize + (k - 1) * step < size;
            (win.len == k && win.step == step && inside).then_some(win.start as usize)
        })
        .collect::<Option<Vec<usize>>>()?;
    Some((starts, step))
}

/// Max pool of one plane whose windows are all `KH × KW` taps inside it
/// (`whole_windows`): each window's maximum and its index in one pass over
/// its taps, unrolled, without a branch on the data. The taps are compared
/// in the order of the general path (row by row), with the same rule, so
/// the values and indices are the same. The 2 × 2 pool of
/// `[128, 32, 26, 26]` took 1.6 ms on one thread, against 10.2 ms compared
/// tap by tap across output rows.
#[inline(always)]
fn max_whole<T: Float, const KH: usize, const KW: usize>(
    plane: &[T],
    w: usize,
    (rows, dr): (&[usize], usize),
    (cols, dc): (&[usize], usize),
    v: &mut [T],
    ix: &mut [usize],
) {
    let ow = cols.len();
    for (i, &r0) in rows.iter().enumerate() {
        let (v, ix) = (&mut v[i * ow..(i + 1) * ow], &mut ix[i * ow..(i + 1) * ow]);
        for ((out, arg_out), &c0) in v.iter_mut().zip(ix.iter_mut()).zip(cols) {
            let first = r0 * w + c0;
            let (mut best, mut arg) = (plane[first], first);
            for a in 0..KH {
                for b in 0..KW {
                    if a + b > 0 {
                        let at = first + a * dr * w + b * dc;
                        let val = plane[at];
                        // The index is chosen by an integer select and the
                        // value read back through it: a select of floats
                        // compiles to a branch, which mispredicts on about
                        // every other tap of real activations.
                        let take = (val > best) | val.is_nan();
                        arg = std::hint::select_unpredictable(take, at, arg);
                        best = plane[arg];
                    }
                }
            }
            *out = best;
            *arg_out = arg;
        }
    }
}

/// Runs `f(plane index, output plane)` over every (image, channel) plane
/// of `out`, on rayon's pool when the work is large.
fn planes<T: Float>(out: &mut [T], plane: usize, work: usize, f: impl Fn(usize, &mut [T]) + Sync + Send) {
    if plane == 0 {
        return;
    }
    if work >= crate::PARALLEL_THRESHOLD && rayon::current_num_threads() > 1 {
        out.par_chunks_mut(plane).enumerate().for_each(|(i, o)| f(i, o));
        crate::threads::note_parallel_work();
    } else {
        out.chunks_mut(plane).enumerate().for_each(|(i, o)| f(i, o));
    }
}

impl<T: Float> Tensor<T> {
    /// The maximum of every window of every plane of `self` `[N, C, H, W]`,
    /// and where it is (row · W + column), both `[N, C, H_out, W_out]`.
    /// Ties go to the first in row-major order and a NaN is always taken,
    /// as in PyTorch; padding never wins.
    ///
    /// # Panics
    /// If `self` is not `[N, C, H, W]` with the windows' input plane.
    #[track_caller]
    pub fn max_pool(&self, windows: &PoolWindows) -> (Self, Tensor<usize>) {
        or_panic(self.try_max_pool(windows))
    }

    /// [`max_pool`](Self::max_pool), returning an error when the shape does not fit.
    pub fn try_max_pool(&self, windows: &PoolWindows) -> Result<(Self, Tensor<usize>)> {
        let [n, c] = windows.check("max_pool2d", self, windows.input)?;
        let ([h, w], [oh, ow]) = (windows.input, windows.output());
        let x = self.contiguous();
        let xs = x.as_slice().expect("contiguous");
        let mut vals = alloc::<T>(n * c * oh * ow);
        // Both from the buffer pools: no fresh pages in a training loop.
        let mut idx = alloc::<usize>(n * c * oh * ow);
        let taps = windows.rows.first().map_or(0, |r| r.len) * windows.cols.first().map_or(0, |c| c.len);
        let work = vals.len() * taps.max(1);
        // Values and indices are written plane by plane, side by side.
        let mut pairs: Vec<(&mut [T], &mut [usize])> = vals.chunks_mut(oh * ow).zip(idx.chunks_mut(oh * ow)).collect();
        // Each window's in-range taps, found once: (first, end, step).
        let ranges = |ws: &[Window], size: usize| -> Vec<(usize, usize, usize)> {
            ws.iter()
                .map(|win| {
                    let mut t = win.taps(size);
                    let first = t.next();
                    let last = t.next_back().or(first);
                    first.map_or((0, 0, 1), |f| (f, last.expect("a first tap is a last") + 1, win.step))
                })
                .collect()
        };
        let (rows, cols) = (ranges(&windows.rows, h), ranges(&windows.cols, w));
        // Column windows a fixed stride apart (every fixed-kernel pool):
        // output row by output row, tap by tap, across the row's outputs.
        let stride = match windows.cols.as_slice() {
            [a, b, ..] => b.start - a.start,
            _ => 1,
        };
        let affine = windows.cols.iter().enumerate().all(|(j, c)| {
            c.len == windows.cols[0].len
                && c.step == windows.cols[0].step
                && c.start == windows.cols[0].start + j as isize * stride
        }) && stride > 0;
        let (kh, kw) = (windows.rows.first().map_or(0, |r| r.len), windows.cols.first().map_or(0, |c| c.len));
        let whole = match (kh, kw) {
            (2, 2) | (3, 3) => whole_windows(&windows.rows, h, kh).zip(whole_windows(&windows.cols, w, kw)),
            _ => None,
        };
        let run = |p: usize, (v, ix): &mut (&mut [T], &mut [usize])| {
            let plane = &xs[p * h * w..(p + 1) * h * w];
            if let Some(((rs, dr), (cs, dc))) = &whole {
                let (rows, cols) = ((&rs[..], *dr), (&cs[..], *dc));
                // Compiled for AVX2 where the CPU has it (1.6 against 1.8 ms
                // for the 2 × 2 pool of [128, 32, 26, 26], one thread).
                crate::with_avx2(
                    #[inline(always)]
                    || match kh {
                        2 => max_whole::<T, 2, 2>(plane, w, rows, cols, v, ix),
                        _ => max_whole::<T, 3, 3>(plane, w, rows, cols, v, ix),
                    },
                );
                return;
            }
            if affine {
                max_rows_affine(plane, [h, w], &windows.rows, windows.cols[0], stride as usize, v, ix);
                return;
            }
            let mut at = 0;
            for &(r0, r1, rs) in &rows {
                for &(c0, c1, cs) in &cols {
                    let mut best = T::neg_infinity();
                    let mut arg = usize::MAX;
                    let mut r = r0;
                    while r < r1 {
                        let row = &plane[r * w..(r + 1) * w];
                        let mut c = c0;
                        while c < c1 {
                            let val = row[c];
                            // The first tap is taken whatever it is, as
                            // PyTorch starts from it; then a larger value or
                            // a NaN.
                            let take = (arg == usize::MAX) | (val > best) | val.is_nan();
                            arg = std::hint::select_unpredictable(take, r * w + c, arg);
                            best = plane[arg];
                            c += cs;
                        }
                        r += rs;
                    }
                    v[at] = best;
                    ix[at] = if arg == usize::MAX { 0 } else { arg };
                    at += 1;
                }
            }
        };
        if work >= crate::PARALLEL_THRESHOLD && rayon::current_num_threads() > 1 {
            pairs.par_iter_mut().enumerate().for_each(|(p, pair)| run(p, pair));
            crate::threads::note_parallel_work();
        } else {
            pairs.iter_mut().enumerate().for_each(|(p, pair)| run(p, pair));
        }
        drop(pairs);
        let shape = [n, c, oh, ow];
        Ok((Tensor::from_parts(vals, &shape), Tensor::from_parts(idx, &shape)))
    }

    /// The element at `index[n, c, i]` of each plane (row · W + column) of
    /// `self` `[N, C, H, W]`: `[N, C, …index's plane]`, shaped as `index`.
    /// A max pool's values are `x.take_planes(argmax)`; this is the
    /// adjoint of [`put_planes`](Self::put_planes).
    ///
    /// # Panics
    /// If `index` is not `[N, C, …]` for `self`'s N and C, or an index is
    /// outside the plane.
    #[track_caller]
    pub fn take_planes(&self, index: &Tensor<usize>) -> Self {
        let s = self.shape();
        assert!(
            s.len() == 4 && index.rank() >= 2 && index.shape()[..2] == s[..2],
            "take_planes: index {:?} for a tensor {s:?}",
            index.shape()
        );
        let plane = s[2] * s[3];
        let (x, ix) = (self.contiguous(), index.contiguous());
        let (xs, is) = (x.as_slice().expect("contiguous"), ix.as_slice().expect("contiguous"));
        let per = is.len() / (s[0] * s[1]).max(1);
        let mut out = alloc::<T>(is.len());
        planes(&mut out, per, is.len(), |p, o| {
            let (src, at) = (&xs[p * plane..(p + 1) * plane], &is[p * per..(p + 1) * per]);
            o.iter_mut().zip(at).for_each(|(o, &i)| *o = src[i]);
        });
        Tensor::from_parts(out, index.shape())
    }

    /// `self` `[N, C, …]` added into zero planes of `plane` (H, W) at
    /// `index` (row · W + column, shaped as `self`): a max pool's gradient,
    /// every value sent to its window's argmax. The adjoint of
    /// [`take_planes`](Self::take_planes).
    ///
    /// # Panics
    /// If `index` is not shaped as `self` or an index is outside the plane.
    #[track_caller]
    pub fn put_planes(&self, index: &Tensor<usize>, plane: [usize; 2]) -> Self {
        let s = self.shape();
        assert!(s.len() >= 2 && index.shape() == s, "put_planes: index {:?} for values {s:?}", index.shape());
        let (g, ix) = (self.contiguous(), index.contiguous());
        let (gs, is) = (g.as_slice().expect("contiguous"), ix.as_slice().expect("contiguous"));
        let size = plane[0] * plane[1];
        let per = gs.len() / (s[0] * s[1]).max(1);
        let mut out = alloc::<T>(s[0] * s[1] * size);
        let work = out.len();
        planes(&mut out, size, work, |p, o| {
            o.fill(T::zero());
            for (&v, &i) in gs[p * per..(p + 1) * per].iter().zip(&is[p * per..(p + 1) * per]) {
                o[i] += v;
            }
        });
        Tensor::from_parts(out, &[s[0], s[1], plane[0], plane[1]])
    }

    /// Σ of every window of every plane of `self` `[N, C, H, W]` times
    /// `scale[row · W_out + column]`: with `scale` = 1/divisor, every
    /// average pooling. Padding adds nothing.
    ///
    /// # Panics
    /// If `self` does not fit the windows or `scale` has not one entry per
    /// output position.
    #[track_caller]
    pub fn window_sum(&self, windows: &PoolWindows, scale: &[T]) -> Self {
        let [n, c] = or_panic(windows.check("window_sum", self, windows.input));
        let ([h, w], [oh, ow]) = (windows.input, windows.output());
        assert_eq!(scale.len(), oh * ow, "window_sum: one scale per output position");
        let x = self.contiguous();
        let xs = x.as_slice().expect("contiguous");
        let mut out = alloc::<T>(n * c * oh * ow);
        planes(&mut out, oh * ow, n * c * h * w, |p, o| {
            let plane = &xs[p * h * w..(p + 1) * h * w];
            let mut at = 0;
            for rw in &windows.rows {
                for cw in &windows.cols {
                    let mut s = T::zero();
                    for r in rw.taps(h) {
                        for col in cw.taps(w) {
                            s += plane[r * w + col];
                        }
                    }
                    o[at] = s * scale[at];
                    at += 1;
                }
            }
        });
        Tensor::from_parts(out, &[n, c, oh, ow])
    }

    /// The adjoint of [`window_sum`](Self::window_sum): `self` `[N, C,
    /// H_out, W_out]` spread back over the windows, each value times its
    /// scale, summed where windows overlap; `[N, C, H, W]`.
    ///
    /// # Panics
    /// If `self` does not have the windows' output plane.
    #[track_caller]
    pub fn window_sum_adjoint(&self, windows: &PoolWindows, scale: &[T]) -> Self {
        let [n, c] = or_panic(windows.check("window_sum_adjoint", self, windows.output()));
        let ([h, w], [oh, ow]) = (windows.input, windows.output());
        assert_eq!(scale.len(), oh * ow, "window_sum_adjoint: one scale per output position");
        let g = self.contiguous();
        let gs = g.as_slice().expect("contiguous");
        let mut out = alloc::<T>(n * c * h * w);
        planes(&mut out, h * w, n * c * h * w, |p, o| {
            o.fill(T::zero());
            let plane = &gs[p * oh * ow..(p + 1) * oh * ow];
            let mut at = 0;
            for rw in &windows.rows {
                for cw in &windows.cols {
                    let v = plane[at] * scale[at];
                    for r in rw.taps(h) {
                        for col in cw.taps(w) {
                            o[r * w + col] += v;
                        }
                    }
                    at += 1;
                }
            }
        });
        Tensor::from_parts(out, &[n, c, h, w])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plane(v: &[f64], h: usize, w: usize) -> Tensor<f64> {
        Tensor::from_slice(v, &[1, 1, h, w]).unwrap()
    }

    /// Max pool by the rule, window by window: the first in-range tap,
    /// then any larger one or a NaN, taps row by row.
    fn max_pool_by_the_rule(x: &[f32], [h, w]: [usize; 2], win: &PoolWindows) -> (Vec<f32>, Vec<usize>) {
        let (mut vals, mut idx) = (Vec::new(), Vec::new());
        for plane in x.chunks(h * w) {
            for rw in &win.rows {
                for cw in &win.cols {
                    let mut best: Option<(f32, usize)> = None;
                    for r in rw.taps(h) {
                        for c in cw.taps(w) {
                            let val = plane[r * w + c];
                            if best.is_none_or(|(b, _)| val > b || val.is_nan()) {
                                best = Some((val, r * w + c));
                            }
                        }
                    }
                    let (v, i) = best.unwrap_or((f32::NEG_INFINITY, 0));
                    vals.push(v);
                    idx.push(i);
                }
            }
        }
        (vals, idx)
    }

    /// `max_pool` of `planes` planes `[h, w]` of values drawn by `seed` from
    /// a few that tie and a NaN, against [`max_pool_by_the_rule`].
    fn check_against_the_rule(
        planes: usize,
        [h, w]: [usize; 2],
        win: &PoolWindows,
        seed: u64,
    ) -> proptest::test_runner::TestCaseResult {
        let choices = [-1.0f32, 0.0, 1.0, 2.0, f32::NAN];
        let x: Vec<f32> =
            (0..planes * h * w).map(|i| choices[((i as u64 * 2654435761 + seed * 40503) >> 7) as usize % 5]).collect();
        let (v, i) = Tensor::from_slice(&x, &[1, planes, h, w]).unwrap().max_pool(win);
        let (want_v, want_i) = max_pool_by_the_rule(&x, [h, w], win);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        proptest::prop_assert_eq!(bits(&v.to_vec()), bits(&want_v));
        proptest::prop_assert_eq!(i.to_vec(), want_i);
        Ok(())
    }

    proptest::proptest! {
        /// Every path of `max_pool` (whole windows of 2 × 2 and 3 × 3,
        /// windows a fixed stride apart, any others) gives the rule's values
        /// and indices, with ties and NaNs.
        #[test]
        fn max_pool_follows_the_rule(
            planes in 1usize..4,
            (h, w) in (2usize..10, 2usize..10),
            kernel in 1usize..4,
            stride in 1usize..4,
            (padding, dilation, ceil) in (0usize..2, 1usize..3, proptest::bool::ANY),
            seed in 0u64..1000,
        ) {
            let Ok(win) = PoolWindows::fixed([h, w], [kernel, kernel], [stride, stride], [padding, padding], [dilation, dilation], ceil) else {
                return Ok(());
            };
            check_against_the_rule(planes, [h, w], &win, seed)?;
        }

        /// Adaptive windows (of varying sizes: the general path) too.
        #[test]
        fn adaptive_max_pool_follows_the_rule(
            (h, w) in (1usize..10, 1usize..10),
            (oh, ow) in (1usize..6, 1usize..6),
            seed in 0u64..1000,
        ) {
            let win = PoolWindows::adaptive([h, w], [oh, ow]).unwrap();
            check_against_the_rule(2, [h, w], &win, seed)?;
        }
    }

    #[test]
    fn output_sizes_follow_pytorch() {
        // (input, kernel, stride, pad, dilation, ceil) -> out, as torch computes.
        let cases = [
            (5, 2, 2, 0, 1, false, 2),
            (5, 2, 2, 0, 1, true, 3),
            (6, 3, 2, 1, 1, true, 4),
            (6, 3, 2, 1, 1, false, 3),
            (7, 3, 3, 1, 2, true, 3),
            (4, 2, 2, 1, 1, true, 3),
            (28, 2, 2, 0, 1, false, 14),
            (5, 3, 4, 0, 1, true, 2),
        ];
        for (i, k, s, p, d, c, want) in cases {
            assert_eq!(pooled_len(i, k, s, p, d, c), Some(want), "{:?}", (i, k, s, p, d, c));
        }
    }

    #[test]
    fn max_takes_the_first_maximum_and_skips_padding() {
        let x = plane(&[1.0, 3.0, 3.0, -1.0, 0.0, 2.0, -5.0, -6.0, -7.0], 3, 3);
        let w = PoolWindows::fixed([3, 3], [2, 2], [1, 1], [0, 0], [1, 1], false).unwrap();
        let (v, i) = x.max_pool(&w);
        assert_eq!(v.to_vec(), vec![3.0, 3.0, 0.0, 2.0]);
        assert_eq!(i.to_vec(), vec![1, 1, 4, 5]);
        // Padding is -inf: a window of negative values still picks one of them.
        let w = PoolWindows::fixed([3, 3], [2, 2], [2, 2], [1, 1], [1, 1], false).unwrap();
        let (v, i) = x.max_pool(&w);
        assert_eq!(v.to_vec(), vec![1.0, 3.0, -1.0, 2.0]);
        assert_eq!(i.to_vec(), vec![0, 1, 3, 5]);
        let neg = plane(&[-3.0, -2.0, -1.0, -4.0], 2, 2);
        let (v, i) = neg.max_pool(&PoolWindows::fixed([2, 2], [2, 2], [1, 1], [1, 1], [1, 1], false).unwrap());
        assert_eq!(v.to_vec(), vec![-3.0, -2.0, -2.0, -1.0, -1.0, -2.0, -1.0, -1.0, -4.0]);
        assert_eq!(i.to_vec(), vec![0, 1, 1, 2, 2, 1, 2, 2, 3]);
    }

    #[test]
    fn take_and_put_are_adjoint() {
        let x = Tensor::from_vec((0..24).map(|i| i as f64 * 0.5).collect(), &[1, 2, 3, 4]).unwrap();
        let idx = Tensor::from_vec(vec![0, 5, 5, 11, 3, 2], &[1, 2, 3]).unwrap();
        let t = x.take_planes(&idx);
        assert_eq!(t.to_vec(), vec![0.0, 2.5, 2.5, 11.5, 7.5, 7.0]);
        let g = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[1, 2, 3]).unwrap();
        let p = g.put_planes(&idx, [3, 4]);
        let dot = |a: &Tensor<f64>, b: &Tensor<f64>| a.to_vec().iter().zip(b.to_vec()).map(|(a, b)| a * b).sum::<f64>();
        assert_eq!(dot(&t, &g), dot(&x, &p));
        assert_eq!(p.get(&[0, 0, 1, 1]), 5.0);
    }

    #[test]
    fn window_taps_are_clipped_to_the_input() {
        let w = Window { start: -3, len: 4, step: 2 };
        assert_eq!(w.taps(10).collect::<Vec<_>>(), vec![1, 3]);
        assert_eq!(Window { start: 7, len: 3, step: 2 }.taps(10).collect::<Vec<_>>(), vec![7, 9]);
        assert_eq!(Window { start: -5, len: 2, step: 1 }.taps(10).count(), 0);
        assert_eq!(Window { start: 9, len: 3, step: 1 }.taps(10).collect::<Vec<_>>(), vec![9]);
    }

    #[test]
    fn a_nan_wins_the_max() {
        let x = plane(&[1.0, f64::NAN, 3.0, 2.0], 2, 2);
        let w = PoolWindows::fixed([2, 2], [2, 2], [2, 2], [0, 0], [1, 1], false).unwrap();
        let (v, i) = x.max_pool(&w);
        assert!(v.item().is_nan());
        assert_eq!(i.to_vec(), vec![1]);
    }

    #[test]
    fn window_sums_and_their_adjoint() {
        let x = plane(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3);
        let w = PoolWindows::adaptive([2, 3], [1, 2]).unwrap();
        assert_eq!(w.counts(), vec![4, 4]);
        let s = x.window_sum(&w, &[0.25, 0.25]);
        assert_eq!(s.to_vec(), vec![3.0, 4.0]);
        let g = Tensor::from_vec(vec![1.0, 2.0], &[1, 1, 1, 2]).unwrap();
        let back = g.window_sum_adjoint(&w, &[0.25, 0.25]);
        assert_eq!(back.to_vec(), vec![0.25, 0.75, 0.5, 0.25, 0.75, 0.5]);
    }

    #[test]
    fn bad_arguments_are_errors() {
        assert!(PoolWindows::fixed([4, 4], [2, 2], [0, 1], [0, 0], [1, 1], false).is_err());
        assert!(PoolWindows::fixed([4, 4], [2, 2], [2, 2], [2, 0], [1, 1], false).is_err());
        assert!(PoolWindows::fixed([1, 4], [3, 3], [1, 1], [0, 0], [1, 1], false).is_err());
        assert!(PoolWindows::adaptive([4, 4], [0, 2]).is_err());
        let w = PoolWindows::fixed([4, 4], [2, 2], [2, 2], [0, 0], [1, 1], false).unwrap();
        assert!(Tensor::<f32>::zeros(&[1, 1, 5, 4]).try_max_pool(&w).is_err());
    }
}
