//! Convolution layers: `Conv1d`, `Conv2d` and `ConvTranspose2d`, with
//! PyTorch's arguments, parameter names (`weight`, `bias`) and default
//! initialisation (kaiming_uniform with a = √5, i.e. U[±1/√fan_in] for the
//! weight and the bias, fan_in = in/groups · Πkernel).

use crate::{Init, Module, Param, Visitor};
use gradus_autodiff::{ConvOptions, ConvTransposeOptions, PadMode, Tape, Var};
use gradus_tensor::{Float, Tensor};
use rand::Rng;

/// The weight and bias of a convolution, drawn as PyTorch draws them.
fn default_init<T: Float, R: Rng + ?Sized>(shape: &[usize], bias: usize, rng: &mut R) -> (Tensor<T>, Tensor<T>) {
    let weight = Init::XavierLecture.tensor(shape, rng);
    let (fan_in, fan_out) = crate::fans(shape);
    (weight, Init::XavierLecture.tensor_with_fans(&[bias], fan_in, fan_out, rng))
}

/// Checks `in_channels`, `out_channels` and `groups` as PyTorch does.
fn check_channels(layer: &str, cin: usize, cout: usize, groups: usize) -> Result<(), String> {
    if cin == 0 || cout == 0 || groups == 0 {
        return Err(format!(
            "{layer}: channels and groups must be positive, got in {cin}, out {cout}, groups {groups}"
        ));
    }
    if !cin.is_multiple_of(groups) || !cout.is_multiple_of(groups) {
        return Err(format!("{layer}: groups={groups} must divide in_channels ({cin}) and out_channels ({cout})"));
    }
    Ok(())
}

/// The output shape of a convolution with `opts` and a `kernel` on `input`
/// `[N, C, spatial…]`, or what it needs.
/// `padding_mode` as `nn.Conv2d` spells it.
fn pad_mode_name(mode: PadMode) -> &'static str {
    match mode {
        PadMode::Constant => "zeros",
        PadMode::Reflect => "reflect",
        PadMode::Replicate => "replicate",
        PadMode::Circular => "circular",
    }
}

fn conv_output<const D: usize>(
    layer: &str,
    input: &[usize],
    cin: usize,
    cout: usize,
    kernel: [usize; D],
    opts: &ConvOptions<D>,
) -> Result<Vec<usize>, String> {
    let dims = ["L", "H, W"][D - 1];
    if input.len() != D + 2 || input[1] != cin {
        return Err(format!("{layer} needs [N, {cin}, {dims}], got {input:?}"));
    }
    let pads = opts.resolve_padding(kernel).map_err(|e| format!("{layer}: {e}"))?;
    let mut out = vec![input[0], cout];
    for a in 0..D {
        let span = opts.dilation[a] * (kernel[a] - 1) + 1;
        let padded = input[2 + a] + pads[a][0] + pads[a][1];
        if padded < span {
            return Err(format!(
                "{layer} needs a spatial size of at least {} (kernel {kernel:?}, dilation {:?}, padding {pads:?}), got {input:?}",
                span.saturating_sub(pads[a][0] + pads[a][1]),
                opts.dilation
            ));
        }
        opts.padding_mode.fits(input[2 + a], pads[a][0], pads[a][1]).map_err(|e| {
            format!("{layer}: {e} (input {input:?}, padding_mode={})", pad_mode_name(opts.padding_mode))
        })?;
        out.push((padded - span) / opts.stride[a] + 1);
    }
    Ok(out)
}

macro_rules! conv_layer {
    ($(#[$doc:meta])* $name:ident, $d:literal, $call:ident) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name<T: Float> {
            weight: Param<T>,
            bias: Option<Param<T>>,
            opts: ConvOptions<$d>,
        }

        impl<T: Float> $name<T> {
            /// `in_channels → out_channels` with a kernel of `kernel`, the
            /// options `opts`, a bias when `bias`, initialised as PyTorch.
            ///
            /// # Errors
            /// A message naming the argument when the channels do not
            /// divide by the groups, a size is 0, or `padding=same` has a
            /// stride.
            pub fn new<R: Rng + ?Sized>(
                in_channels: usize,
                out_channels: usize,
                kernel: [usize; $d],
                opts: ConvOptions<$d>,
                bias: bool,
                rng: &mut R,
            ) -> Result<Self, String> {
                let layer = stringify!($name);
                check_channels(layer, in_channels, out_channels, opts.groups)?;
                if kernel.contains(&0) || opts.stride.contains(&0) || opts.dilation.contains(&0) {
                    return Err(format!("{layer}: kernel {kernel:?}, stride {:?} and dilation {:?} must be positive", opts.stride, opts.dilation));
                }
                opts.resolve_padding(kernel).map_err(|e| format!("{layer}: {e}"))?;
                let mut shape = vec![out_channels, in_channels / opts.groups];
                shape.extend(kernel);
                let (w, b) = default_init(&shape, out_channels, rng);
                Ok(Self::from_tensors(w, bias.then_some(b), opts))
            }

            /// A layer with the given weight `[out, in/groups, kernel…]` and bias `[out]`.
            ///
            /// # Panics
            /// If the weight's rank is wrong or the bias does not fit it.
            #[track_caller]
            pub fn from_tensors(weight: Tensor<T>, bias: Option<Tensor<T>>, opts: ConvOptions<$d>) -> Self {
                assert_eq!(weight.rank(), $d + 2, "{}: weight must be [out, in/groups, kernel…], got {:?}", stringify!($name), weight.shape());
                if let Some(b) = &bias {
                    assert_eq!(b.shape(), [weight.shape()[0]], "{}: bias must be [out] for weight {:?}", stringify!($name), weight.shape());
                }
                Self { weight: Param::new(weight), bias: bias.map(Param::new), opts }
            }

            /// The weight `[out, in/groups, kernel…]`.
            pub fn weight(&self) -> &Param<T> {
                &self.weight
            }

            /// The bias `[out]`, if any.
            pub fn bias(&self) -> Option<&Param<T>> {
                self.bias.as_ref()
            }

            /// The options.
            pub fn options(&self) -> &ConvOptions<$d> {
                &self.opts
            }

            fn kernel(&self) -> [usize; $d] {
                let s = self.weight.shape();
                std::array::from_fn(|a| s[2 + a])
            }

            fn channels(&self) -> (usize, usize) {
                let s = self.weight.shape();
                (s[1] * self.opts.groups, s[0])
            }
        }

        impl<T: Float> Module<T> for $name<T> {
            #[track_caller]
            fn forward(&self, tape: &Tape<T>, x: &Var<T>) -> Var<T> {
                let (cin, cout) = self.channels();
                if let Err(e) = conv_output(stringify!($name), x.shape(), cin, cout, self.kernel(), &self.opts) {
                    panic!("{e}");
                }
                let bias = self.bias.as_ref().map(|b| b.var(tape));
                x.$call(&self.weight.var(tape), bias.as_ref(), &self.opts)
            }

            fn visit<'a>(&'a self, v: &mut Visitor<'a, '_, T>) {
                v.param("weight", &self.weight);
                if let Some(b) = &self.bias {
                    v.param("bias", b);
                }
            }

            /// Every parameter once per output position (torchinfo's count).
            fn multiply_adds(&self, output: &[usize]) -> f64 {
                crate::module::own_parameters(self) as f64 * output[1..].iter().product::<usize>() as f64
            }

            fn output_shape(&self, input: &[usize]) -> Option<Result<Vec<usize>, String>> {
                let (cin, cout) = self.channels();
                Some(conv_output(stringify!($name), input, cin, cout, self.kernel(), &self.opts))
            }
        }
    };
}

conv_layer! {
    /// A 1-D convolution on `[N, C_in, L]`, as `nn.Conv1d`.
    ///
    /// ```
    /// use gradus_autodiff::{ConvOptions, Padding, Tape, Var};
    /// use gradus_nn::{Conv1d, Module};
    /// use gradus_tensor::Tensor;
    /// use rand::{SeedableRng, rngs::StdRng};
    ///
    /// let conv = Conv1d::<f32>::new(2, 4, [3], ConvOptions::default().padding(Padding::Same), true, &mut StdRng::seed_from_u64(0)).unwrap();
    /// let y = conv.forward(&Tape::new(), &Var::constant(Tensor::ones(&[5, 2, 10])));
    /// assert_eq!(y.shape(), [5, 4, 10]);
    /// ```
    Conv1d, 1, conv1d
}

conv_layer! {
    /// A 2-D convolution on `[N, C_in, H, W]`, as `nn.Conv2d`: weight
    /// `[C_out, C_in/groups, kH, kW]`, bias `[C_out]`.
    ///
    /// ```
    /// use gradus_autodiff::{ConvOptions, Tape, Var};
    /// use gradus_nn::{Conv2d, Module};
    /// use gradus_tensor::Tensor;
    /// use rand::{SeedableRng, rngs::StdRng};
    ///
    /// let conv = Conv2d::<f32>::new(1, 32, [3, 3], ConvOptions::default(), true, &mut StdRng::seed_from_u64(0)).unwrap();
    /// let y = conv.forward(&Tape::new(), &Var::constant(Tensor::ones(&[8, 1, 28, 28])));
    /// assert_eq!(y.shape(), [8, 32, 26, 26]);
    /// assert_eq!(conv.num_parameters(), 32 * 9 + 32);
    /// ```
    Conv2d, 2, conv2d
}

/// A transposed 2-D convolution on `[N, C_in, H, W]`, as
/// `nn.ConvTranspose2d`: weight `[C_in, C_out/groups, kH, kW]`, bias `[C_out]`.
#[derive(Debug)]
pub struct ConvTranspose2d<T: Float> {
    weight: Param<T>,
    bias: Option<Param<T>>,
    opts: ConvTransposeOptions,
}

impl<T: Float> ConvTranspose2d<T> {
    /// `in_channels → out_channels` with a kernel of `kernel`, initialised
    /// as PyTorch.
    ///
    /// # Errors
    /// A message naming the argument when the channels do not divide by
    /// the groups or a size is 0.
    pub fn new<R: Rng + ?Sized>(
        in_channels: usize,
        out_channels: usize,
        kernel: [usize; 2],
        opts: ConvTransposeOptions,
        bias: bool,
        rng: &mut R,
    ) -> Result<Self, String> {
        check_channels("ConvTranspose2d", in_channels, out_channels, opts.groups)?;
        if kernel.contains(&0) {
            return Err(format!("ConvTranspose2d: kernel {kernel:?} must be positive"));
        }
        opts.output_size([1, 1], kernel).map(|_| ()).or_else(|e| {
            // Padding may need a larger input; only argument errors matter here.
            if e.contains("output_padding") || e.contains("positive") {
                Err(format!("ConvTranspose2d: {e}"))
            } else {
                Ok(())
            }
        })?;
        let shape = [in_channels, out_channels / opts.groups, kernel[0], kernel[1]];
        let (w, b) = default_init(&shape, out_channels, rng);
        Ok(Self { weight: Param::new(w), bias: bias.then(|| Param::new(b)), opts })
    }

    /// The weight `[C_in, C_out/groups, kH, kW]`.
    pub fn weight(&self) -> &Param<T> {
        &self.weight
    }
}

impl<T: Float> Module<T> for ConvTranspose2d<T> {
    #[track_caller]
    fn forward(&self, tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        if let Some(Err(e)) = self.output_shape(x.shape()) {
            panic!("{e}");
        }
        let bias = self.bias.as_ref().map(|b| b.var(tape));
        x.conv_transpose2d(&self.weight.var(tape), bias.as_ref(), &self.opts)
    }

    fn visit<'a>(&'a self, v: &mut Visitor<'a, '_, T>) {
        v.param("weight", &self.weight);
        if let Some(b) = &self.bias {
            v.param("bias", b);
        }
    }

    /// Every parameter once per output position (torchinfo's count).
    fn multiply_adds(&self, output: &[usize]) -> f64 {
        crate::module::own_parameters(self) as f64 * output[1..].iter().product::<usize>() as f64
    }

    fn output_shape(&self, input: &[usize]) -> Option<Result<Vec<usize>, String>> {
        let s = self.weight.shape();
        let cout = s[1] * self.opts.groups;
        if input.len() != 4 || input[1] != s[0] {
            return Some(Err(format!("ConvTranspose2d needs [N, {}, H, W], got {input:?}", s[0])));
        }
        Some(
            self.opts
                .output_size([input[2], input[3]], [s[2], s[3]])
                .map(|[h, w]| vec![input[0], cout, h, w])
                .map_err(|e| format!("ConvTranspose2d: {e} (input {input:?})")),
        )
    }
}
