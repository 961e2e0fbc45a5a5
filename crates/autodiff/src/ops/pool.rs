//! Pooling of `[N, C, H, W]` variables as PyTorch's `max_pool2d`,
//! `avg_pool2d`, `adaptive_avg_pool2d` and `adaptive_max_pool2d`.
//!
//! A max pool's gradient goes to each window's argmax: ∂y added into zero
//! planes at the forward's positions, whose own derivative reads planes at
//! those positions, and back again, so gradients of every order follow. An average pool is linear, a scaled
//! window sum S; its backward is the adjoint Sᵀ and Sᵀ's backward is S.

use crate::Var;
use crate::var::record;
use gradus_tensor::{Float, PoolWindows, Tensor};
use std::rc::Rc;

/// The arguments of `max_pool2d`, with PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxPoolOptions {
    /// The window.
    pub kernel: [usize; 2],
    /// Steps between windows; the kernel when `None`.
    pub stride: Option<[usize; 2]>,
    /// −∞ rows and columns on each side (at most half the dilated kernel).
    pub padding: [usize; 2],
    /// Spacing between taps.
    pub dilation: [usize; 2],
    /// Round the output size up, keeping a partial last window.
    pub ceil_mode: bool,
}

impl MaxPoolOptions {
    /// A `kernel` window, stride the kernel, no padding, dilation 1.
    pub fn new(kernel: [usize; 2]) -> Self {
        Self { kernel, stride: None, padding: [0, 0], dilation: [1, 1], ceil_mode: false }
    }

    /// The windows over an input plane of `input`, or why there are none.
    ///
    /// # Errors
    /// PyTorch's checks, as [`PoolWindows::fixed`].
    pub fn windows(&self, input: [usize; 2]) -> gradus_tensor::Result<PoolWindows> {
        let stride = self.stride.unwrap_or(self.kernel);
        PoolWindows::fixed(input, self.kernel, stride, self.padding, self.dilation, self.ceil_mode)
    }
}

/// The arguments of `avg_pool2d`, with PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AvgPoolOptions {
    /// The window.
    pub kernel: [usize; 2],
    /// Steps between windows; the kernel when `None`.
    pub stride: Option<[usize; 2]>,
    /// Zero rows and columns on each side (at most half the kernel).
    pub padding: [usize; 2],
    /// Round the output size up, keeping a partial last window.
    pub ceil_mode: bool,
    /// Divide by the window's size including its padding (not the part
    /// past the padded input in ceil mode), else by its in-range taps.
    pub count_include_pad: bool,
    /// Divide every window by this instead.
    pub divisor_override: Option<usize>,
}

impl AvgPoolOptions {
    /// A `kernel` window, stride the kernel, no padding, padding counted.
    pub fn new(kernel: [usize; 2]) -> Self {
        Self {
            kernel,
            stride: None,
            padding: [0, 0],
            ceil_mode: false,
            count_include_pad: true,
            divisor_override: None,
        }
    }

    /// The windows over an input plane of `input`, or why there are none.
    ///
    /// # Errors
    /// PyTorch's checks, as [`PoolWindows::fixed`], and a zero divisor.
    pub fn windows(&self, input: [usize; 2]) -> gradus_tensor::Result<PoolWindows> {
        if self.divisor_override == Some(0) {
            return Err(gradus_tensor::TensorError::InvalidArgument {
                op: "avg_pool2d",
                reason: "divisor_override must be positive".into(),
            });
        }
        let stride = self.stride.unwrap_or(self.kernel);
        PoolWindows::fixed(input, self.kernel, stride, self.padding, [1, 1], self.ceil_mode)
    }

    /// 1/divisor for each output position, as PyTorch divides: a window
    /// clipped to the padded input, or to the input itself without
    /// `count_include_pad`; 0 for a window that holds no input.
    fn scales(&self, w: &PoolWindows) -> Vec<f64> {
        let counts = w.counts();
        let padded = |win: &gradus_tensor::Window, size: usize, pad: usize| {
            let end = (win.start + win.len as isize).min((size + pad) as isize);
            (end - win.start) as usize
        };
        let mut out = Vec::with_capacity(counts.len());
        for r in &w.rows {
            for c in &w.cols {
                let size = padded(r, w.input[0], self.padding[0]) * padded(c, w.input[1], self.padding[1]);
                out.push(size);
            }
        }
        out.iter()
            .zip(counts)
            .map(|(&padded, inside)| {
                let d = match (self.divisor_override, self.count_include_pad) {
                    (Some(d), _) => d,
                    (None, true) => padded,
                    (None, false) => inside,
                };
                if inside == 0 { 0.0 } else { 1.0 / d as f64 }
            })
            .collect()
    }
}

fn input_plane<T: Float>(op: &str, x: &Var<T>) -> [usize; 2] {
    assert_eq!(x.rank(), 4, "{op}: the input must be [N, C, H, W], got {:?}", x.shape());
    [x.shape()[2], x.shape()[3]]
}

/// The window maximum, its gradient scattered to the argmax.
fn max_over<T: Float>(x: &Var<T>, windows: &PoolWindows) -> Var<T> {
    let (value, at) = x.value.max_pool(windows);
    let at = Rc::new(at);
    record("max_pool2d", value, &[x], move |v, _, g| {
        let s = v[0].shape();
        smallvec::smallvec![Some(put(g, Rc::clone(&at), [s[2], s[3]]))]
    })
}

/// `g` added into zero planes of `plane` at `at` (the max pool's backward).
fn put<T: Float>(g: &Var<T>, at: Rc<Tensor<usize>>, plane: [usize; 2]) -> Var<T> {
    let value = g.value.put_planes(&at, plane);
    record("max_pool2d_backward", value, &[g], move |_, _, gx| smallvec::smallvec![Some(take(gx, Rc::clone(&at)))])
}

/// The planes of `x` read at `at`: the adjoint of [`put`].
fn take<T: Float>(x: &Var<T>, at: Rc<Tensor<usize>>) -> Var<T> {
    let value = x.value.take_planes(&at);
    record("max_pool2d_take", value, &[x], move |v, _, g| {
        let s = v[0].shape();
        smallvec::smallvec![Some(put(g, Rc::clone(&at), [s[2], s[3]]))]
    })
}

/// S(x): the scaled window sums.
fn window_sum<T: Float>(x: &Var<T>, windows: Rc<PoolWindows>, scale: Rc<Vec<T>>) -> Var<T> {
    let value = x.value.window_sum(&windows, &scale);
    record("avg_pool2d", value, &[x], move |_, _, g| {
        smallvec::smallvec![Some(window_sum_adjoint(g, Rc::clone(&windows), Rc::clone(&scale)))]
    })
}

/// Sᵀ(g): the adjoint of [`window_sum`].
fn window_sum_adjoint<T: Float>(g: &Var<T>, windows: Rc<PoolWindows>, scale: Rc<Vec<T>>) -> Var<T> {
    let value = g.value.window_sum_adjoint(&windows, &scale);
    record("avg_pool2d_backward", value, &[g], move |_, _, gx| {
        smallvec::smallvec![Some(window_sum(gx, Rc::clone(&windows), Rc::clone(&scale)))]
    })
}

impl<T: Float> Var<T> {
    /// The maximum over windows of each plane, as `F.max_pool2d`; the
    /// gradient goes to the first maximum of each window.
    ///
    /// ```
    /// use gradus_autodiff::{MaxPoolOptions, Var};
    /// use gradus_tensor::Tensor;
    ///
    /// let x = Var::constant(Tensor::from_vec((0..16).map(f64::from).collect(), &[1, 1, 4, 4]).unwrap());
    /// let y = x.max_pool2d(&MaxPoolOptions::new([2, 2]));
    /// assert_eq!(y.value().to_vec(), vec![5.0, 7.0, 13.0, 15.0]);
    /// ```
    ///
    /// # Panics
    /// If the input is not `[N, C, H, W]` or the options do not fit it.
    #[track_caller]
    pub fn max_pool2d(&self, opts: &MaxPoolOptions) -> Self {
        let windows = opts.windows(input_plane("max_pool2d", self)).unwrap_or_else(|e| panic!("{e}"));
        max_over(self, &windows)
    }

    /// The maximum over PyTorch's adaptive windows, giving an output plane
    /// of `output`, as `F.adaptive_max_pool2d`.
    ///
    /// # Panics
    /// If the input is not `[N, C, H, W]` or an output size is 0.
    #[track_caller]
    pub fn adaptive_max_pool2d(&self, output: [usize; 2]) -> Self {
        let windows = PoolWindows::adaptive(input_plane("adaptive_max_pool2d", self), output);
        max_over(self, &windows.unwrap_or_else(|e| panic!("{e}")))
    }

    /// The mean over windows of each plane, as `F.avg_pool2d` (divisor as
    /// PyTorch's, see [`AvgPoolOptions`]).
    ///
    /// # Panics
    /// If the input is not `[N, C, H, W]` or the options do not fit it.
    #[track_caller]
    pub fn avg_pool2d(&self, opts: &AvgPoolOptions) -> Self {
        let windows = opts.windows(input_plane("avg_pool2d", self)).unwrap_or_else(|e| panic!("{e}"));
        let scale = opts.scales(&windows).into_iter().map(T::of).collect();
        window_sum(self, Rc::new(windows), Rc::new(scale))
    }

    /// The mean over PyTorch's adaptive windows, giving an output plane of
    /// `output`, as `F.adaptive_avg_pool2d`.
    ///
    /// # Panics
    /// If the input is not `[N, C, H, W]` or an output size is 0.
    #[track_caller]
    pub fn adaptive_avg_pool2d(&self, output: [usize; 2]) -> Self {
        let windows =
            PoolWindows::adaptive(input_plane("adaptive_avg_pool2d", self), output).unwrap_or_else(|e| panic!("{e}"));
        let scale = windows.counts().into_iter().map(|c| T::of(1.0 / c as f64)).collect();
        window_sum(self, Rc::new(windows), Rc::new(scale))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn average_divisors_follow_pytorch() {
        // 5 wide, kernel 3, stride 2, padding 1, ceil mode: windows start at
        // -1, 1, 3; the last one runs past the padded input (ends at 6).
        let x = Var::constant(Tensor::<f64>::ones(&[1, 1, 1, 5]));
        let mut o =
            AvgPoolOptions { kernel: [1, 3], stride: Some([1, 2]), padding: [0, 1], ..AvgPoolOptions::new([1, 3]) };
        o.ceil_mode = true;
        assert_eq!(x.avg_pool2d(&o).value().to_vec(), vec![2.0 / 3.0, 1.0, 2.0 / 3.0]);
        o.count_include_pad = false;
        assert_eq!(x.avg_pool2d(&o).value().to_vec(), vec![1.0, 1.0, 1.0]);
        o.divisor_override = Some(4);
        assert_eq!(x.avg_pool2d(&o).value().to_vec(), vec![0.5, 0.75, 0.5]);
    }
}
