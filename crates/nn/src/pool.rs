//! Pooling layers on `[N, C, H, W]`: `MaxPool2d`, `AvgPool2d`,
//! `AdaptiveAvgPool2d` and `AdaptiveMaxPool2d`, as PyTorch's. None has
//! parameters.

use crate::Module;
use gradus_autodiff::{AvgPoolOptions, MaxPoolOptions, Tape, Var};
use gradus_tensor::{Float, PoolWindows};

/// `[N, C, H, W]`'s plane, or what the layer needs.
fn plane(layer: &str, input: &[usize]) -> Result<[usize; 2], String> {
    match input {
        [_, _, h, w] => Ok([*h, *w]),
        _ => Err(format!("{layer} needs [N, C, H, W], got {input:?}")),
    }
}

/// `input` with its plane replaced by the windows' output.
fn pooled(layer: &str, input: &[usize], windows: gradus_tensor::Result<PoolWindows>) -> Result<Vec<usize>, String> {
    let w = windows.map_err(|e| format!("{layer}: {e} (input {input:?})"))?;
    let [h, w] = w.output();
    Ok(vec![input[0], input[1], h, w])
}

/// Max pooling, as `nn.MaxPool2d(kernel, stride, padding, dilation, ceil_mode)`.
///
/// ```
/// use gradus_autodiff::{MaxPoolOptions, Tape, Var};
/// use gradus_nn::{MaxPool2d, Module};
/// use gradus_tensor::Tensor;
///
/// let pool = MaxPool2d(MaxPoolOptions::new([2, 2]));
/// let y = Module::<f32>::forward(&pool, &Tape::new(), &Var::constant(Tensor::ones(&[4, 3, 13, 13])));
/// assert_eq!(y.shape(), [4, 3, 6, 6]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxPool2d(pub MaxPoolOptions);

impl<T: Float> Module<T> for MaxPool2d {
    #[track_caller]
    fn forward(&self, _tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        if let Some(Err(e)) = Module::<T>::output_shape(self, x.shape()) {
            panic!("{e}");
        }
        x.max_pool2d(&self.0)
    }

    fn output_shape(&self, input: &[usize]) -> Option<Result<Vec<usize>, String>> {
        Some(plane("MaxPool2d", input).and_then(|p| pooled("MaxPool2d", input, self.0.windows(p))))
    }
}

/// Average pooling, as `nn.AvgPool2d(kernel, stride, padding, ceil_mode,
/// count_include_pad, divisor_override)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AvgPool2d(pub AvgPoolOptions);

impl<T: Float> Module<T> for AvgPool2d {
    #[track_caller]
    fn forward(&self, _tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        if let Some(Err(e)) = Module::<T>::output_shape(self, x.shape()) {
            panic!("{e}");
        }
        x.avg_pool2d(&self.0)
    }

    fn output_shape(&self, input: &[usize]) -> Option<Result<Vec<usize>, String>> {
        Some(plane("AvgPool2d", input).and_then(|p| pooled("AvgPool2d", input, self.0.windows(p))))
    }
}

/// Adaptive average pooling to an output plane of the given size, as
/// `nn.AdaptiveAvgPool2d(size)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdaptiveAvgPool2d(pub [usize; 2]);

impl<T: Float> Module<T> for AdaptiveAvgPool2d {
    #[track_caller]
    fn forward(&self, _tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        if let Some(Err(e)) = Module::<T>::output_shape(self, x.shape()) {
            panic!("{e}");
        }
        x.adaptive_avg_pool2d(self.0)
    }

    fn output_shape(&self, input: &[usize]) -> Option<Result<Vec<usize>, String>> {
        let layer = "AdaptiveAvgPool2d";
        Some(plane(layer, input).and_then(|p| pooled(layer, input, PoolWindows::adaptive(p, self.0))))
    }
}

/// Adaptive max pooling to an output plane of the given size, as
/// `nn.AdaptiveMaxPool2d(size)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdaptiveMaxPool2d(pub [usize; 2]);

impl<T: Float> Module<T> for AdaptiveMaxPool2d {
    #[track_caller]
    fn forward(&self, _tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        if let Some(Err(e)) = Module::<T>::output_shape(self, x.shape()) {
            panic!("{e}");
        }
        x.adaptive_max_pool2d(self.0)
    }

    fn output_shape(&self, input: &[usize]) -> Option<Result<Vec<usize>, String>> {
        let layer = "AdaptiveMaxPool2d";
        Some(plane(layer, input).and_then(|p| pooled(layer, input, PoolWindows::adaptive(p, self.0))))
    }
}
