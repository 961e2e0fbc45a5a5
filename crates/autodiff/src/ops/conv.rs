//! Convolutions: `conv1d`, `conv2d` and `conv_transpose2d` with PyTorch's
//! arguments. All three rest on one trilinear form F(x, W, g) = ⟨W ⋆ x, g⟩:
//! the convolution C(x, W), its adjoint in x, T(g, W) (which is the
//! transposed convolution), and its adjoint in W, A(x, g). The derivative
//! of each of the three is one of the other two, so the rules below are
//! closed under differentiation and gradients of gradients work:
//!
//! - ∂C: dx = T(g, W), dW = A(x, g);
//! - ∂T (output gx): dg = C(gx, W), dW = A(gx, g);
//! - ∂A (output gW): dx = T(g, gW), dg = C(x, gW).

use crate::var::record;
use crate::{InputGrads, Var};
use gradus_tensor::{ConvGeometry, Float};

/// How a convolution pads its input, per spatial axis: a number of rows or
/// columns on each side, `Same` (the output as large as the input; stride 1
/// only; an odd total puts the extra one after, as PyTorch does) or `Valid`
/// (none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding<const D: usize> {
    /// The same amount before and after, per axis.
    Explicit([usize; D]),
    /// Dilation·(kernel − 1) in all, split as evenly as possible.
    Same,
    /// No padding.
    Valid,
}

/// What a convolution's padding holds, as `padding_mode` in `nn.Conv2d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PadMode {
    /// Zeros (`zeros`), or a constant in [`Var::pad`].
    #[default]
    Constant,
    /// The input mirrored at its edge, the edge itself not repeated (`reflect`).
    Reflect,
    /// The edge value repeated (`replicate`).
    Replicate,
    /// The input wrapped around (`circular`).
    Circular,
}

/// The arguments of a `D`-dimensional convolution, with PyTorch's names and
/// defaults (stride 1, no padding, dilation 1, one group, zeros).
///
/// ```
/// use gradus_autodiff::{ConvOptions, Padding};
///
/// let o = ConvOptions::<2>::default().stride([2, 2]).padding(Padding::Explicit([1, 1]));
/// assert_eq!(o.stride, [2, 2]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvOptions<const D: usize> {
    /// Steps between windows.
    pub stride: [usize; D],
    /// Padding of the input.
    pub padding: Padding<D>,
    /// Spacing between kernel taps.
    pub dilation: [usize; D],
    /// Channel groups (the channels' count for a depthwise convolution).
    pub groups: usize,
    /// What the padding holds.
    pub padding_mode: PadMode,
}

impl<const D: usize> Default for ConvOptions<D> {
    fn default() -> Self {
        Self {
            stride: [1; D],
            padding: Padding::Explicit([0; D]),
            dilation: [1; D],
            groups: 1,
            padding_mode: PadMode::Constant,
        }
    }
}

impl<const D: usize> ConvOptions<D> {
    /// With this stride.
    #[must_use]
    pub fn stride(mut self, stride: [usize; D]) -> Self {
        self.stride = stride;
        self
    }
    /// With this padding.
    #[must_use]
    pub fn padding(mut self, padding: Padding<D>) -> Self {
        self.padding = padding;
        self
    }
    /// With this dilation.
    #[must_use]
    pub fn dilation(mut self, dilation: [usize; D]) -> Self {
        self.dilation = dilation;
        self
    }
    /// With this many groups.
    #[must_use]
    pub fn groups(mut self, groups: usize) -> Self {
        self.groups = groups;
        self
    }
    /// With this padding mode.
    #[must_use]
    pub fn padding_mode(mut self, mode: PadMode) -> Self {
        self.padding_mode = mode;
        self
    }

    /// The padding before and after on each axis for a kernel of `kernel`
    /// taps, or a message saying why it cannot be had.
    ///
    /// # Errors
    /// `Same` with a stride other than 1.
    pub fn resolve_padding(&self, kernel: [usize; D]) -> Result<[[usize; 2]; D], String> {
        let mut out = [[0; 2]; D];
        for a in 0..D {
            out[a] = match self.padding {
                Padding::Explicit(p) => [p[a], p[a]],
                Padding::Valid => [0, 0],
                Padding::Same => {
                    if self.stride.iter().any(|&s| s != 1) {
                        return Err(format!("padding=same needs stride 1, got stride {:?}", self.stride));
                    }
                    let total = self.dilation[a] * kernel[a].saturating_sub(1);
                    [total / 2, total - total / 2]
                }
            };
        }
        Ok(out)
    }
}

/// The arguments of `conv_transpose2d`, with PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvTransposeOptions {
    /// Stride of the convolution this one transposes.
    pub stride: [usize; 2],
    /// Its padding (removed from the output).
    pub padding: [usize; 2],
    /// Extra rows and columns at the end of the output (less than the
    /// stride or the dilation).
    pub output_padding: [usize; 2],
    /// Channel groups.
    pub groups: usize,
    /// Spacing between kernel taps.
    pub dilation: [usize; 2],
}

impl Default for ConvTransposeOptions {
    fn default() -> Self {
        Self { stride: [1, 1], padding: [0, 0], output_padding: [0, 0], groups: 1, dilation: [1, 1] }
    }
}

impl ConvTransposeOptions {
    /// The output's (H, W) for an input of `input` and a kernel of `kernel`:
    /// (in − 1)·stride − 2·padding + dilation·(k − 1) + output_padding + 1.
    ///
    /// # Errors
    /// A message naming the argument when output padding is not below the
    /// stride or the dilation, or the output would be empty.
    pub fn output_size(&self, input: [usize; 2], kernel: [usize; 2]) -> Result<[usize; 2], String> {
        let mut out = [0; 2];
        for a in 0..2 {
            let (s, d, op) = (self.stride[a], self.dilation[a], self.output_padding[a]);
            if s == 0 || d == 0 || kernel[a] == 0 || input[a] == 0 {
                return Err(format!(
                    "stride {:?}, dilation {:?}, kernel and input must be positive",
                    self.stride, self.dilation
                ));
            }
            if op >= s && op >= d {
                return Err(format!(
                    "output_padding {:?} must be smaller than the stride {:?} or the dilation {:?}",
                    self.output_padding, self.stride, self.dilation
                ));
            }
            let full = (input[a] - 1) * s + d * (kernel[a] - 1) + op + 1;
            if full <= 2 * self.padding[a] {
                return Err(format!("padding {:?} leaves no output for an input of {input:?}", self.padding));
            }
            out[a] = full - 2 * self.padding[a];
        }
        Ok(out)
    }
}

fn plane<T: Float>(v: &Var<T>) -> [usize; 2] {
    [v.shape()[2], v.shape()[3]]
}

/// `v` cut to `hw` in its last two axes (an adjoint computed past an
/// output's size, where output padding or a stride's remainder left it short).
fn crop<T: Float>(v: Var<T>, hw: [usize; 2]) -> Var<T> {
    let v = if v.shape()[2] > hw[0] { v.narrow(2, 0, hw[0]) } else { v };
    if v.shape()[3] > hw[1] { v.narrow(3, 0, hw[1]) } else { v }
}

/// C(x, W) (+ b), zero padding inside the kernel.
pub(crate) fn conv<T: Float>(x: &Var<T>, w: &Var<T>, b: Option<&Var<T>>, geom: ConvGeometry) -> Var<T> {
    let value = x.value.conv2d(&w.value, b.map(|b| &b.value), geom);
    let inputs: &[&Var<T>] = match b {
        Some(b) => &[x, w, b],
        None => &[x, w],
    };
    record("conv2d", value, inputs, move |v, _, g| {
        let mut grads: InputGrads<T> = smallvec::smallvec![
            v[0].requires_grad().then(|| input_grad(g, &v[1], geom, plane(&v[0]))),
            v[1].requires_grad().then(|| weight_grad(&v[0], g, geom, plane(&v[1])))
        ];
        if v.len() == 3 {
            // Σ over the batch and the plane; the plane first, as rows.
            let s = g.shape();
            let rows = g.reshape(&[s[0] as isize, s[1] as isize, (s[2] * s[3]) as isize]);
            grads.push(v[2].requires_grad().then(|| rows.sum(2, false).sum(0, false)));
        }
        grads
    })
}

/// T(g, W): the adjoint of C in its input, for an input plane of `hw`.
pub(crate) fn input_grad<T: Float>(g: &Var<T>, w: &Var<T>, geom: ConvGeometry, hw: [usize; 2]) -> Var<T> {
    let value = g.value.conv2d_input_grad(&w.value, geom, hw);
    record("conv2d_input_grad", value, &[g, w], move |v, _, gx| {
        smallvec::smallvec![
            v[0].requires_grad().then(|| crop(conv(gx, &v[1], None, geom), plane(&v[0]))),
            v[1].requires_grad().then(|| weight_grad(gx, &v[0], geom, plane(&v[1])))
        ]
    })
}

/// A(x, g): the adjoint of C in its weight, for a kernel of `k`.
pub(crate) fn weight_grad<T: Float>(x: &Var<T>, g: &Var<T>, geom: ConvGeometry, k: [usize; 2]) -> Var<T> {
    let value = x.value.conv2d_weight_grad(&g.value, geom, k);
    record("conv2d_weight_grad", value, &[x, g], move |v, _, gw| {
        smallvec::smallvec![
            v[0].requires_grad().then(|| input_grad(&v[1], gw, geom, plane(&v[0]))),
            v[1].requires_grad().then(|| crop(conv(&v[0], gw, None, geom), plane(&v[1])))
        ]
    })
}

impl<T: Float> Var<T> {
    /// The 2-D convolution of `self` `[N, C_in, H, W]` with `weight`
    /// `[C_out, C_in/groups, kH, kW]` and an optional `bias` `[C_out]`, as
    /// `torch.nn.functional.conv2d` (cross-correlation); a padding mode
    /// other than zeros pads with [`Var::pad`] first, as `nn.Conv2d` does.
    ///
    /// ```
    /// use gradus_autodiff::{ConvOptions, Padding, Tape};
    /// use gradus_tensor::Tensor;
    ///
    /// let tape = Tape::new();
    /// let x = tape.leaf(Tensor::<f64>::ones(&[1, 1, 4, 4]));
    /// let w = tape.leaf(Tensor::ones(&[2, 1, 3, 3]));
    /// let y = x.conv2d(&w, None, &ConvOptions::default().padding(Padding::Same));
    /// assert_eq!(y.shape(), [1, 2, 4, 4]);
    /// assert_eq!(y.value().get(&[0, 0, 1, 1]), 9.0);
    /// ```
    ///
    /// # Panics
    /// If the shapes or options do not fit (messages name both shapes).
    #[track_caller]
    pub fn conv2d(&self, weight: &Self, bias: Option<&Self>, opts: &ConvOptions<2>) -> Self {
        assert_eq!(
            weight.rank(),
            4,
            "conv2d: the weight must be [C_out, C_in/groups, kH, kW], got {:?}",
            weight.shape()
        );
        let kernel = [weight.shape()[2], weight.shape()[3]];
        let pads = opts.resolve_padding(kernel).unwrap_or_else(|e| panic!("conv2d: {e}"));
        let (x, pads) = match opts.padding_mode {
            PadMode::Constant => (self.clone(), pads),
            mode => (self.pad(&[(pads[0][0], pads[0][1]), (pads[1][0], pads[1][1])], mode, T::zero()), [[0; 2]; 2]),
        };
        let geom = ConvGeometry { stride: opts.stride, padding: pads, dilation: opts.dilation, groups: opts.groups };
        let kind = crate::TapKind::Conv2d { geometry: geom, kernel };
        crate::taps::tap(kind, &x, weight, bias, conv(&x, weight, bias, geom))
    }

    /// The 1-D convolution of `self` `[N, C_in, L]` with `weight`
    /// `[C_out, C_in/groups, k]`, as `torch.nn.functional.conv1d`: a 2-D
    /// convolution over a plane of one row.
    ///
    /// # Panics
    /// If the shapes or options do not fit.
    #[track_caller]
    pub fn conv1d(&self, weight: &Self, bias: Option<&Self>, opts: &ConvOptions<1>) -> Self {
        assert!(
            self.rank() == 3 && weight.rank() == 3,
            "conv1d: the input must be [N, C, L] and the weight [C_out, C_in/groups, k], got {:?} and {:?}",
            self.shape(),
            weight.shape()
        );
        let padding = match opts.padding {
            Padding::Explicit([p]) => Padding::Explicit([0, p]),
            Padding::Same => Padding::Same,
            Padding::Valid => Padding::Valid,
        };
        let two = ConvOptions {
            stride: [1, opts.stride[0]],
            padding,
            dilation: [1, opts.dilation[0]],
            groups: opts.groups,
            padding_mode: opts.padding_mode,
        };
        let x = self.unsqueeze(2);
        let x = if opts.padding_mode == PadMode::Constant {
            x
        } else {
            let pads = opts.resolve_padding([weight.shape()[2]]).unwrap_or_else(|e| panic!("conv1d: {e}"));
            x.pad(&[(pads[0][0], pads[0][1])], opts.padding_mode, T::zero())
        };
        let two = if opts.padding_mode == PadMode::Constant {
            two
        } else {
            two.padding(Padding::Valid).padding_mode(PadMode::Constant)
        };
        x.conv2d(&weight.unsqueeze(2), bias, &two).squeeze(Some(2))
    }

    /// The transposed 2-D convolution of `self` `[N, C_in, H, W]` with
    /// `weight` `[C_in, C_out/groups, kH, kW]` and an optional `bias`
    /// `[C_out]`, as `torch.nn.functional.conv_transpose2d`: the input
    /// gradient of the convolution with those arguments.
    ///
    /// # Panics
    /// If the shapes or options do not fit.
    #[track_caller]
    pub fn conv_transpose2d(&self, weight: &Self, bias: Option<&Self>, opts: &ConvTransposeOptions) -> Self {
        assert!(
            self.rank() == 4 && weight.rank() == 4 && self.shape()[1] == weight.shape()[0],
            "conv_transpose2d: the input must be [N, C_in, H, W] and the weight [C_in, C_out/groups, kH, kW], got {:?} and {:?}",
            self.shape(),
            weight.shape()
        );
        let out = opts
            .output_size(plane(self), [weight.shape()[2], weight.shape()[3]])
            .unwrap_or_else(|e| panic!("conv_transpose2d: {e}"));
        let geom = ConvGeometry::new(opts.stride, opts.padding, opts.dilation, opts.groups);
        let y = input_grad(self, weight, geom, out);
        match bias {
            Some(b) => {
                let c = y.shape()[1] as isize;
                assert_eq!(b.shape(), [c as usize], "conv_transpose2d: the bias must be [{c}], got {:?}", b.shape());
                y.add(&b.reshape(&[1, c, 1, 1]))
            }
            None => y,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gradus_tensor::Tensor;

    /// |⟨C(x, W), g⟩ − ⟨x, T(g, W)⟩| on values.
    fn adjoint_gap(x: &Tensor<f64>, w: &Tensor<f64>, g: &Tensor<f64>, geom: ConvGeometry) -> f64 {
        let dot = |a: &Tensor<f64>, b: &Tensor<f64>| (a * b).sum(.., false).item();
        let y = x.conv2d(w, None, geom);
        let a = dot(&y, g);
        let b = dot(x, &g.conv2d_input_grad(w, geom, [x.shape()[2], x.shape()[3]]));
        (a - b).abs()
    }

    #[test]
    fn same_padding_splits_an_odd_total_after() {
        let o = ConvOptions::<2>::default().padding(Padding::Same).dilation([1, 3]);
        assert_eq!(o.resolve_padding([4, 3]).unwrap(), [[1, 2], [3, 3]]);
        assert!(o.stride([2, 1]).resolve_padding([3, 3]).is_err());
    }

    #[test]
    fn transposed_output_sizes() {
        let o = ConvTransposeOptions { stride: [2, 3], padding: [1, 0], output_padding: [1, 2], ..Default::default() };
        assert_eq!(o.output_size([4, 5], [3, 2]).unwrap(), [8, 16]);
        let bad = ConvTransposeOptions { output_padding: [1, 0], ..Default::default() };
        assert!(bad.output_size([4, 4], [3, 3]).unwrap_err().contains("output_padding"));
    }

    #[test]
    fn the_input_gradient_is_the_adjoint() {
        let x = Tensor::from_vec((0..50).map(|i| (i as f64 * 0.37).sin()).collect(), &[1, 2, 5, 5]).unwrap();
        let w = Tensor::from_vec((0..36).map(|i| (i as f64 * 0.11).cos()).collect(), &[2, 2, 3, 3]).unwrap();
        let geom = ConvGeometry::new([2, 2], [1, 1], [1, 1], 1);
        let g = Tensor::from_vec((0..18).map(|i| i as f64 - 9.0).collect(), &[1, 2, 3, 3]).unwrap();
        assert!(adjoint_gap(&x, &w, &g, geom) < 1e-10);
    }
}
