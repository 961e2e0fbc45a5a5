//! Models from spec strings, as the command line and the demo take them:
//! `mlp(784, 256, 10, act=relu, dropout=0.2, batch_norm=false)`, and
//! `seq(item, item, …)`, a `torch.nn.Sequential` of layers named as
//! PyTorch's (`conv2d(1, 32, 3, padding=1)`, `maxpool2d(2)`, `flatten`,
//! `linear(1600, 128)`, `relu`, …; see [`ModelSpec::parse`]).
//!
//! ```
//! use gradus::models::ModelSpec;
//!
//! let spec = ModelSpec::parse("seq(conv2d(1, 8, 3), relu, maxpool2d(2), flatten, linear(1352, 10))").unwrap();
//! assert_eq!(spec.input_shape(&[28, 28]), vec![1, 28, 28]);
//! let model = spec.build::<f32>(0);
//! // Values the layers output per example: 2 × 8·26·26, 2 × 8·13·13 and 10.
//! assert_eq!(spec.check(&model, &[28, 28], 10), Ok(2.0 * 5408.0 + 2.0 * 1352.0 + 10.0));
//! let narrow = ModelSpec::parse("seq(conv2d(1, 8, 3), flatten, linear(5408, 5))").unwrap();
//! let err = narrow.check(&narrow.build::<f32>(0), &[28, 28], 10).unwrap_err();
//! assert!(err.contains("5 outputs") && err.contains("10 classes"), "{err}");
//! ```

use gradus_autodiff::{AvgPoolOptions, ConvOptions, ConvTransposeOptions, MaxPoolOptions, PadMode, Padding};
use gradus_nn::{
    AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, BatchNorm1d, BatchNorm2d, Conv1d, Conv2d, ConvTranspose2d,
    Dropout, Dropout2d, Elu, Flatten, Gelu, Init, LeakyRelu, Linear, MaxPool2d, Mish, Mlp, Module, PRelu, Relu, Selu,
    Sequential, Sigmoid, Silu, Softplus, Tanh,
};
use gradus_spec::{Args, Spec, SpecError, Value};
use gradus_tensor::Float;
use rand::SeedableRng;
use rand::rngs::StdRng;

/// The item names `seq(...)` accepts.
pub const SEQ_ITEMS: &[&str] = &[
    "linear",
    "conv1d",
    "conv2d",
    "conv_transpose2d",
    "maxpool2d",
    "avgpool2d",
    "adaptive_avgpool2d",
    "adaptive_maxpool2d",
    "batchnorm1d",
    "batchnorm2d",
    "dropout",
    "dropout2d",
    "flatten",
    "relu",
    "leaky_relu",
    "prelu",
    "sigmoid",
    "tanh",
    "silu",
    "gelu",
    "elu",
    "selu",
    "softplus",
    "mish",
];

/// One layer of a `seq(...)`, its arguments checked.
#[derive(Clone, Debug, PartialEq)]
enum Item {
    Linear { inp: usize, out: usize, bias: bool },
    Conv1d { inp: usize, out: usize, kernel: usize, opts: ConvOptions<1>, bias: bool },
    Conv2d { inp: usize, out: usize, kernel: [usize; 2], opts: ConvOptions<2>, bias: bool },
    ConvT { inp: usize, out: usize, kernel: [usize; 2], opts: ConvTransposeOptions, bias: bool },
    MaxPool(MaxPoolOptions),
    AvgPool(AvgPoolOptions),
    AdaptiveAvg([usize; 2]),
    AdaptiveMax([usize; 2]),
    BatchNorm { two_d: bool, n: usize, eps: f64, momentum: f64 },
    Dropout { two_d: bool, p: f64 },
    Flatten(usize),
    Relu,
    LeakyRelu(f64),
    PRelu { n: usize, init: f64 },
    Sigmoid,
    Tanh,
    Silu,
    Gelu { tanh: bool },
    Elu(f64),
    Selu,
    Softplus { beta: f64, threshold: f64 },
    Mish,
}

/// A model spec, parsed and checked.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelSpec {
    text: String,
    kind: Kind,
}

#[derive(Clone, Debug, PartialEq)]
enum Kind {
    Mlp(Mlp),
    Seq(Vec<(String, Item)>),
}

fn err(spec: &Spec, message: impl Into<String>) -> SpecError {
    spec.error(message)
}

/// A number or a pair `(a, b)`, each a positive (or, with `zero_ok`,
/// non-negative) integer.
fn pair(args: &Args, spec: &Spec, key: &str, default: [usize; 2], zero_ok: bool) -> Result<[usize; 2], SpecError> {
    let int = |v: &Value| match v {
        Value::Number(x) if x.fract() == 0.0 && *x >= if zero_ok { 0.0 } else { 1.0 } && *x < 1e9 => Some(*x as usize),
        _ => None,
    };
    let what = if zero_ok { "a non-negative integer" } else { "a positive integer" };
    match args.get(key) {
        None => Ok(default),
        Some(v @ Value::Number(_)) => {
            int(v).map(|n| [n, n]).ok_or_else(|| err(spec, format!("`{key}` must be {what} or a pair (h, w), got {v}")))
        }
        Some(Value::Tuple(items)) if items.len() == 2 => match (int(&items[0]), int(&items[1])) {
            (Some(a), Some(b)) => Ok([a, b]),
            _ => Err(err(spec, format!("`{key}` must be {what} or a pair (h, w) of them"))),
        },
        Some(other) => Err(err(spec, format!("`{key}` must be {what} or a pair (h, w), got `{other}`"))),
    }
}

fn one(args: &Args, spec: &Spec, key: &str, default: usize, zero_ok: bool) -> Result<usize, SpecError> {
    match args.get(key) {
        Some(Value::Tuple(_)) => Err(err(spec, format!("`{key}` takes one number in 1-D"))),
        _ => pair(args, spec, key, [default; 2], zero_ok).map(|p| p[0]),
    }
}

fn positive(args: &mut Args, spec: &Spec, key: &str) -> Result<usize, SpecError> {
    let n = args.usize(key)?;
    if n == 0 {
        return Err(err(spec, format!("`{key}` must be positive")));
    }
    Ok(n)
}

fn probability(args: &mut Args, spec: &Spec) -> Result<f64, SpecError> {
    let p = args.f64_or("p", 0.5)?;
    if !(0.0..1.0).contains(&p) {
        return Err(err(spec, format!("`p` must be in [0, 1), got {p}")));
    }
    Ok(p)
}

fn padding_mode(args: &mut Args) -> Result<PadMode, SpecError> {
    Ok(match args.word_or("padding_mode", &["zeros", "reflect", "replicate", "circular"], "zeros")? {
        "reflect" => PadMode::Reflect,
        "replicate" => PadMode::Replicate,
        "circular" => PadMode::Circular,
        _ => PadMode::Constant,
    })
}

const CONV_KEYS: [&str; 9] = ["in", "out", "kernel", "stride", "padding", "dilation", "groups", "bias", "padding_mode"];

/// `conv1d`/`conv2d`'s shared arguments: (in, out, groups, bias, mode).
fn conv_common(args: &mut Args, spec: &Spec) -> Result<(usize, usize, usize, bool, PadMode), SpecError> {
    let (inp, out) = (positive(args, spec, "in")?, positive(args, spec, "out")?);
    let groups =
        positive(args, spec, "groups").or_else(|e| if args.get("groups").is_none() { Ok(1) } else { Err(e) })?;
    if inp % groups != 0 || out % groups != 0 {
        return Err(err(spec, format!("groups={groups} must divide in ({inp}) and out ({out})")));
    }
    Ok((inp, out, groups, args.bool_or("bias", true)?, padding_mode(args)?))
}

fn padding_word<const D: usize>(
    args: &Args,
    spec: &Spec,
    explicit: impl Fn() -> Result<[usize; D], SpecError>,
) -> Result<Padding<D>, SpecError> {
    match args.get("padding") {
        Some(Value::Word(w)) if w == "same" => Ok(Padding::Same),
        Some(Value::Word(w)) if w == "valid" => Ok(Padding::Valid),
        Some(Value::Word(w)) => Err(err(spec, format!("`padding` must be a number, a pair, same or valid, got `{w}`"))),
        _ => explicit().map(Padding::Explicit),
    }
}

fn item(spec: &Spec) -> Result<Item, SpecError> {
    let name = spec.name.as_str();
    let none = |args: &[&'static str]| spec.args(args);
    Ok(match name {
        "linear" => {
            let mut a = none(&["in", "out", "bias"])?;
            Item::Linear {
                inp: positive(&mut a, spec, "in")?,
                out: positive(&mut a, spec, "out")?,
                bias: a.bool_or("bias", true)?,
            }
        }
        "conv1d" => {
            let mut a = none(&CONV_KEYS)?;
            let (inp, out, groups, bias, mode) = conv_common(&mut a, spec)?;
            let kernel = one(&a, spec, "kernel", 0, false)?;
            if a.get("kernel").is_none() {
                return Err(err(spec, "`kernel` is required"));
            }
            let padding = padding_word(&a, spec, || Ok([one(&a, spec, "padding", 0, true)?]))?;
            let opts = ConvOptions {
                stride: [one(&a, spec, "stride", 1, false)?],
                padding,
                dilation: [one(&a, spec, "dilation", 1, false)?],
                groups,
                padding_mode: mode,
            };
            opts.resolve_padding([kernel]).map_err(|e| err(spec, e))?;
            Item::Conv1d { inp, out, kernel, opts, bias }
        }
        "conv2d" => {
            let mut a = none(&CONV_KEYS)?;
            let (inp, out, groups, bias, mode) = conv_common(&mut a, spec)?;
            if a.get("kernel").is_none() {
                return Err(err(spec, "`kernel` is required"));
            }
            let kernel = pair(&a, spec, "kernel", [1, 1], false)?;
            let padding = padding_word(&a, spec, || pair(&a, spec, "padding", [0, 0], true))?;
            let opts = ConvOptions {
                stride: pair(&a, spec, "stride", [1, 1], false)?,
                padding,
                dilation: pair(&a, spec, "dilation", [1, 1], false)?,
                groups,
                padding_mode: mode,
            };
            opts.resolve_padding(kernel).map_err(|e| err(spec, e))?;
            Item::Conv2d { inp, out, kernel, opts, bias }
        }
        "conv_transpose2d" => {
            let mut a =
                none(&["in", "out", "kernel", "stride", "padding", "output_padding", "groups", "bias", "dilation"])?;
            let (inp, out) = (positive(&mut a, spec, "in")?, positive(&mut a, spec, "out")?);
            if a.get("kernel").is_none() {
                return Err(err(spec, "`kernel` is required"));
            }
            let groups = if a.get("groups").is_some() { positive(&mut a, spec, "groups")? } else { 1 };
            if inp % groups != 0 || out % groups != 0 {
                return Err(err(spec, format!("groups={groups} must divide in ({inp}) and out ({out})")));
            }
            let opts = ConvTransposeOptions {
                stride: pair(&a, spec, "stride", [1, 1], false)?,
                padding: pair(&a, spec, "padding", [0, 0], true)?,
                output_padding: pair(&a, spec, "output_padding", [0, 0], true)?,
                groups,
                dilation: pair(&a, spec, "dilation", [1, 1], false)?,
            };
            for d in 0..2 {
                if opts.output_padding[d] >= opts.stride[d] && opts.output_padding[d] >= opts.dilation[d] {
                    return Err(err(spec, "`output_padding` must be smaller than the stride or the dilation"));
                }
            }
            Item::ConvT {
                inp,
                out,
                kernel: pair(&a, spec, "kernel", [1, 1], false)?,
                opts,
                bias: a.bool_or("bias", true)?,
            }
        }
        "maxpool2d" => {
            let mut a = none(&["kernel", "stride", "padding", "dilation", "ceil_mode"])?;
            if a.get("kernel").is_none() {
                return Err(err(spec, "`kernel` is required"));
            }
            let kernel = pair(&a, spec, "kernel", [1, 1], false)?;
            let o = MaxPoolOptions {
                kernel,
                stride: Some(pair(&a, spec, "stride", kernel, false)?),
                padding: pair(&a, spec, "padding", [0, 0], true)?,
                dilation: pair(&a, spec, "dilation", [1, 1], false)?,
                ceil_mode: a.bool_or("ceil_mode", false)?,
            };
            for d in 0..2 {
                if o.padding[d] > (o.dilation[d] * (kernel[d] - 1)).div_ceil(2) {
                    return Err(err(spec, "`padding` must be at most half the (dilated) kernel"));
                }
            }
            Item::MaxPool(o)
        }
        "avgpool2d" => {
            let mut a = none(&["kernel", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"])?;
            if a.get("kernel").is_none() {
                return Err(err(spec, "`kernel` is required"));
            }
            let kernel = pair(&a, spec, "kernel", [1, 1], false)?;
            let divisor = match a.get("divisor_override") {
                None => None,
                Some(_) => Some(positive(&mut a, spec, "divisor_override")?),
            };
            let o = AvgPoolOptions {
                kernel,
                stride: Some(pair(&a, spec, "stride", kernel, false)?),
                padding: pair(&a, spec, "padding", [0, 0], true)?,
                ceil_mode: a.bool_or("ceil_mode", false)?,
                count_include_pad: a.bool_or("count_include_pad", true)?,
                divisor_override: divisor,
            };
            if o.padding[0] > kernel[0] / 2 || o.padding[1] > kernel[1] / 2 {
                return Err(err(spec, "`padding` must be at most half the kernel"));
            }
            Item::AvgPool(o)
        }
        "adaptive_avgpool2d" | "adaptive_maxpool2d" => {
            let a = none(&["size"])?;
            if a.get("size").is_none() {
                return Err(err(spec, "`size` is required"));
            }
            let size = pair(&a, spec, "size", [1, 1], false)?;
            if name == "adaptive_avgpool2d" { Item::AdaptiveAvg(size) } else { Item::AdaptiveMax(size) }
        }
        "batchnorm1d" | "batchnorm2d" => {
            let keys: &[&'static str] =
                if name == "batchnorm1d" { &["n", "eps", "momentum"] } else { &["c", "eps", "momentum"] };
            let mut a = none(keys)?;
            let n = positive(&mut a, spec, keys[0])?;
            let (eps, momentum) = (a.f64_or("eps", 1e-5)?, a.f64_or("momentum", 0.1)?);
            if eps.is_nan() || eps <= 0.0 || !(0.0..=1.0).contains(&momentum) {
                return Err(err(
                    spec,
                    format!("`eps` must be positive and `momentum` in [0, 1], got {eps} and {momentum}"),
                ));
            }
            Item::BatchNorm { two_d: name == "batchnorm2d", n, eps, momentum }
        }
        "dropout" | "dropout2d" => {
            let mut a = none(&["p"])?;
            Item::Dropout { two_d: name == "dropout2d", p: probability(&mut a, spec)? }
        }
        "flatten" => {
            let mut a = none(&["start_dim"])?;
            let d = a.usize_or("start_dim", 1)?;
            if d == 0 {
                return Err(err(spec, "`start_dim` must be at least 1 (the batch stays)"));
            }
            Item::Flatten(d)
        }
        "relu" | "sigmoid" | "tanh" | "silu" | "selu" | "mish" => {
            none(&[])?;
            match name {
                "relu" => Item::Relu,
                "sigmoid" => Item::Sigmoid,
                "tanh" => Item::Tanh,
                "silu" => Item::Silu,
                "selu" => Item::Selu,
                _ => Item::Mish,
            }
        }
        "leaky_relu" => Item::LeakyRelu(none(&["negative_slope"])?.f64_or("negative_slope", 0.01)?),
        "prelu" => {
            let mut a = none(&["num_parameters", "init"])?;
            let n = a.usize_or("num_parameters", 1)?;
            if n == 0 {
                return Err(err(spec, "`num_parameters` must be positive"));
            }
            Item::PRelu { n, init: a.f64_or("init", 0.25)? }
        }
        "gelu" => {
            Item::Gelu { tanh: none(&["approximate"])?.word_or("approximate", &["none", "tanh"], "none")? == "tanh" }
        }
        "elu" => Item::Elu(none(&["alpha"])?.f64_or("alpha", 1.0)?),
        "softplus" => {
            let mut a = none(&["beta", "threshold"])?;
            Item::Softplus { beta: a.f64_or("beta", 1.0)?, threshold: a.f64_or("threshold", 20.0)? }
        }
        other => return Err(err(spec, format!("unknown item `{other}`; accepted: {}", SEQ_ITEMS.join(", ")))),
    })
}

impl Item {
    fn build<T: Float>(&self, rng: &mut StdRng) -> Box<dyn Module<T>> {
        fn ok<M>(r: Result<M, String>) -> M {
            r.unwrap_or_else(|e| panic!("checked when parsed: {e}"))
        }
        match *self {
            Item::Linear { inp, out, bias } => {
                Box::new(Linear::with_init(inp, out, Init::XavierLecture, bias.then_some(Init::XavierLecture), rng))
            }
            Item::Conv1d { inp, out, kernel, opts, bias } => {
                Box::new(ok(Conv1d::new(inp, out, [kernel], opts, bias, rng)))
            }
            Item::Conv2d { inp, out, kernel, opts, bias } => {
                Box::new(ok(Conv2d::new(inp, out, kernel, opts, bias, rng)))
            }
            Item::ConvT { inp, out, kernel, opts, bias } => {
                Box::new(ok(ConvTranspose2d::new(inp, out, kernel, opts, bias, rng)))
            }
            Item::MaxPool(o) => Box::new(MaxPool2d(o)),
            Item::AvgPool(o) => Box::new(AvgPool2d(o)),
            Item::AdaptiveAvg(s) => Box::new(AdaptiveAvgPool2d(s)),
            Item::AdaptiveMax(s) => Box::new(AdaptiveMaxPool2d(s)),
            Item::BatchNorm { two_d: false, n, eps, momentum } => {
                Box::new(BatchNorm1d::<T>::with_options(n, eps, Some(momentum), true, true))
            }
            Item::BatchNorm { two_d: true, n, eps, momentum } => {
                Box::new(BatchNorm2d::<T>::with_options(n, eps, Some(momentum), true, true))
            }
            Item::Dropout { two_d: false, p } => Box::new(Dropout::new(p, rng)),
            Item::Dropout { two_d: true, p } => Box::new(Dropout2d::new(p, rng)),
            Item::Flatten(d) => Box::new(Flatten { start_dim: d }),
            Item::Relu => Box::new(Relu),
            Item::LeakyRelu(s) => Box::new(LeakyRelu { negative_slope: s }),
            Item::PRelu { n, init } => Box::new(PRelu::<T>::new(n, init)),
            Item::Sigmoid => Box::new(Sigmoid),
            Item::Tanh => Box::new(Tanh),
            Item::Silu => Box::new(Silu),
            Item::Gelu { tanh } => Box::new(Gelu { tanh_approximation: tanh }),
            Item::Elu(a) => Box::new(Elu { alpha: a }),
            Item::Selu => Box::new(Selu),
            Item::Softplus { beta, threshold } => Box::new(Softplus { beta, threshold }),
            Item::Mish => Box::new(Mish),
        }
    }
}

impl ModelSpec {
    /// Parses `mlp(sizes…, act=<activation>, dropout=<p>, batch_norm=<bool>)`
    /// or `seq(item, …)`. Items take PyTorch's argument names and
    /// defaults, positionally or by key; a number or a pair `(h, w)` where
    /// PyTorch takes either:
    ///
    /// `linear(in, out, bias=true)`; `conv1d`/`conv2d(in, out, kernel,
    /// stride=1, padding=0|same|valid, dilation=1, groups=1, bias=true,
    /// padding_mode=zeros|reflect|replicate|circular)`;
    /// `conv_transpose2d(in, out, kernel, stride, padding, output_padding,
    /// groups, bias, dilation)`; `maxpool2d(kernel, stride=kernel,
    /// padding=0, dilation=1, ceil_mode=false)`; `avgpool2d(kernel,
    /// stride=kernel, padding=0, ceil_mode=false, count_include_pad=true,
    /// divisor_override)`; `adaptive_avgpool2d(size)`,
    /// `adaptive_maxpool2d(size)`; `batchnorm1d(n, eps=1e-5,
    /// momentum=0.1)`, `batchnorm2d(c, …)`; `dropout(p=0.5)`,
    /// `dropout2d(p=0.5)`; `flatten(start_dim=1)`; activations `relu`,
    /// `leaky_relu(negative_slope)`, `prelu(num_parameters, init)`,
    /// `sigmoid`, `tanh`, `silu`, `gelu(approximate=none|tanh)`,
    /// `elu(alpha)`, `selu`, `softplus(beta, threshold)`, `mish`.
    ///
    /// # Errors
    /// A [`SpecError`] naming the item, the key and what is accepted.
    pub fn parse(text: &str) -> Result<Self, SpecError> {
        let spec: Spec = text.parse()?;
        let kind = match spec.name.as_str() {
            "mlp" => Kind::Mlp(parse_mlp(&spec)?),
            "seq" => {
                let mut items = Vec::new();
                for (key, value) in &spec.args {
                    let item_spec = match (key, value) {
                        (None, Value::Spec(s)) => s.clone(),
                        (None, Value::Word(w)) => Spec { name: w.clone(), args: Vec::new() },
                        (k, v) => {
                            return Err(err(
                                &spec,
                                format!(
                                    "items are layers such as linear(784, 10) or relu, got `{}`",
                                    k.as_ref().map_or(v.to_string(), |k| format!("{k}={v}"))
                                ),
                            ));
                        }
                    };
                    items.push((item_spec.to_string(), item(&item_spec)?));
                }
                if items.is_empty() {
                    return Err(err(&spec, "needs at least one item"));
                }
                Kind::Seq(items)
            }
            other => {
                return Err(err(
                    &spec,
                    format!("unknown model `{other}`; accepted: mlp(sizes…, act, dropout, batch_norm), seq(items…)"),
                ));
            }
        };
        Ok(Self { text: text.to_string(), kind })
    }

    /// The spec as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The model, its weights drawn from `seed` (an `mlp` as
    /// [`Mlp::build`]; a `seq`'s convolutions and linear layers as PyTorch
    /// initialises them).
    pub fn build<T: Float>(&self, seed: u64) -> Sequential<T> {
        let mut rng = StdRng::seed_from_u64(seed);
        match &self.kind {
            Kind::Mlp(m) => m.build(&mut rng),
            Kind::Seq(items) => {
                let mut net = Sequential::new();
                for (_, item) in items {
                    net.push(item.build(&mut rng));
                }
                net
            }
        }
    }

    /// The number of values the model stores (parameters and buffers),
    /// counted from the spec without building it, so that a model too large
    /// for memory is refused before anything is allocated. In f64, which
    /// holds any count a spec can write exactly enough.
    ///
    /// ```
    /// use gradus::models::ModelSpec;
    /// assert_eq!(ModelSpec::parse("mlp(784, 16, 10)").unwrap().stored_values(), 784.0 * 16.0 + 16.0 + 16.0 * 10.0 + 10.0);
    /// let cnn = ModelSpec::parse("seq(conv2d(1, 8, 3), batchnorm2d(8), relu, flatten, linear(5408, 10))").unwrap();
    /// assert_eq!(cnn.stored_values(), (8.0 * 9.0 + 8.0) + (4.0 * 8.0 + 1.0) + (5408.0 * 10.0 + 10.0));
    /// ```
    pub fn stored_values(&self) -> f64 {
        let f = |n: usize| n as f64;
        match &self.kind {
            Kind::Mlp(m) => {
                let s = m.sizes();
                let layers: f64 = s.windows(2).map(|w| f(w[0]) * f(w[1]) + f(w[1])).sum();
                let norms: f64 =
                    if m.has_batch_norm() { s[1..s.len() - 1].iter().map(|&n| 4.0 * f(n) + 1.0).sum() } else { 0.0 };
                layers + norms
            }
            Kind::Seq(items) => items
                .iter()
                .map(|(_, item)| match item {
                    Item::Linear { inp, out, bias } => f(*inp) * f(*out) + if *bias { f(*out) } else { 0.0 },
                    Item::Conv1d { inp, out, kernel, opts, bias } => {
                        f(*out) * f(*inp / opts.groups.max(1)) * f(*kernel) + if *bias { f(*out) } else { 0.0 }
                    }
                    Item::Conv2d { inp, out, kernel, opts, bias } => {
                        f(*out) * f(*inp / opts.groups.max(1)) * f(kernel[0]) * f(kernel[1])
                            + if *bias { f(*out) } else { 0.0 }
                    }
                    Item::ConvT { inp, out, kernel, opts, bias } => {
                        f(*inp) * f(*out / opts.groups.max(1)) * f(kernel[0]) * f(kernel[1])
                            + if *bias { f(*out) } else { 0.0 }
                    }
                    Item::BatchNorm { n, .. } => 4.0 * f(*n) + 1.0,
                    Item::PRelu { n, .. } => f(*n),
                    _ => 0.0,
                })
                .sum(),
        }
    }

    /// The shape one example reaches the model in, for examples of shape
    /// `example` (`[28, 28]`): flattened for an `mlp` and for a `seq` that
    /// starts with `linear`, else with a channel axis in front (`[1, 28, 28]`).
    pub fn input_shape(&self, example: &[usize]) -> Vec<usize> {
        let flat = match &self.kind {
            Kind::Mlp(_) => true,
            Kind::Seq(items) => matches!(items[0].1, Item::Linear { .. }),
        };
        if flat {
            vec![example.iter().product()]
        } else if example.len() == 2 {
            let mut s = vec![1];
            s.extend(example);
            s
        } else {
            example.to_vec()
        }
    }

    /// Checks `model` (built from this spec) against examples of shape
    /// `example` and `classes` classes, before any training: every layer
    /// must fit the one before it, and the output must be `[N, k]` with
    /// k ≥ `classes`.
    ///
    /// Returns the number of values the layers output for one example
    /// (what a forward pass keeps per example for the backward pass), as
    /// far as the layers can tell their shapes.
    ///
    /// # Errors
    /// A message naming the item (as written), the shape it got and the one
    /// it needs.
    pub fn check<T: Float>(&self, model: &Sequential<T>, example: &[usize], classes: usize) -> Result<f64, String> {
        // A batch size no layer's own numbers are likely to equal, written
        // back as N in the messages.
        const BATCH: usize = 7919;
        let named = |msg: String| msg.replace(&format!("[{BATCH}, "), "[N, ").replace(&format!("[{BATCH}]"), "[N]");
        let mut input = vec![BATCH];
        input.extend(self.input_shape(example));
        let mut shape = input.clone();
        let mut outputs = 0.0;
        for (i, layer) in model.layers().iter().enumerate() {
            let name = match &self.kind {
                Kind::Seq(items) => items[i].0.clone(),
                Kind::Mlp(_) => format!("layer {i}"),
            };
            match layer.output_shape(&shape) {
                Some(Ok(next)) => shape = next,
                Some(Err(e)) => return Err(named(format!("{}: item {i}, {name}: {e}", self.text))),
                None => return Ok(outputs),
            }
            outputs += shape[1..].iter().map(|&n| n as f64).product::<f64>();
        }
        match shape.as_slice() {
            [_, k] if *k >= classes => Ok(outputs),
            [_, k] => Err(format!("{}: the model has {k} outputs, fewer than the data's {classes} classes", self.text)),
            other => Err(named(format!(
                "{}: the model's output is {other:?} for input {input:?}; the loss needs [N, {classes}] (end with flatten and linear)",
                self.text
            ))),
        }
    }
}

fn parse_mlp(spec: &Spec) -> Result<Mlp, SpecError> {
    let (mut sizes, mut act, mut dropout, mut bn) = (Vec::new(), gradus_nn::Activation::Relu, 0.0, false);
    let mut seen: Vec<&str> = Vec::new();
    for (key, value) in &spec.args {
        if let Some(k) = key.as_deref() {
            if seen.contains(&k) {
                return Err(err(spec, format!("`{k}` given twice")));
            }
            seen.push(k);
        }
        match (key.as_deref(), value) {
            (None, Value::Number(n)) if *n >= 1.0 && n.fract() == 0.0 && *n < 1e9 => sizes.push(*n as usize),
            (Some("act"), Value::Word(w)) => act = w.parse().map_err(|e| err(spec, format!("{e}")))?,
            (Some("dropout"), Value::Number(p)) if (0.0..1.0).contains(p) => dropout = *p,
            (Some("batch_norm"), Value::Bool(b)) => bn = *b,
            (k, v) => {
                return Err(err(
                    spec,
                    format!(
                        "`{}` is not accepted; mlp takes positive integer sizes, act=<activation>, dropout=<p in [0, 1)>, batch_norm=<bool>",
                        k.map_or(v.to_string(), |k| format!("{k}={v}"))
                    ),
                ));
            }
        }
    }
    if sizes.len() < 2 {
        return Err(err(spec, "needs at least input and output sizes"));
    }
    Ok(Mlp::new(&sizes).activation(act).dropout(dropout).batch_norm(bn))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_dict_names_follow_sequential() {
        let spec = ModelSpec::parse(
            "seq(conv2d(1, 4, 3, padding=1), batchnorm2d(4), relu, maxpool2d(2), flatten, dropout(0.25), linear(784, 10))",
        )
        .unwrap();
        let model = spec.build::<f32>(0);
        let mut names: Vec<String> = model.named_parameters().into_iter().map(|(n, _)| n).collect();
        names.extend(model.named_buffers().into_iter().map(|(n, _)| n));
        assert_eq!(
            names,
            [
                "0.weight",
                "0.bias",
                "1.weight",
                "1.bias",
                "6.weight",
                "6.bias",
                "1.running_mean",
                "1.running_var",
                "1.num_batches_tracked"
            ]
        );
        // Outputs per example: conv, batch norm and relu [4, 28, 28] each;
        // pool, flatten and dropout 784 each; linear 10.
        assert_eq!(spec.check(&model, &[28, 28], 10), Ok(3.0 * 3136.0 + 3.0 * 784.0 + 10.0));
    }

    #[test]
    fn keys_and_positions_mean_the_same() {
        let a = ModelSpec::parse("seq(conv2d(1, 8, (3, 5), 2, same), flatten)");
        assert!(a.unwrap_err().message.contains("padding=same needs stride 1"));
        let a = ModelSpec::parse("seq(conv2d(in=1, out=8, kernel=(3, 5), stride=(1, 2), padding=(1, 2)))").unwrap();
        let b = ModelSpec::parse("seq(conv2d(1, 8, (3, 5), (1, 2), (1, 2)))").unwrap();
        let items = |s: &ModelSpec| match &s.kind {
            Kind::Seq(items) => items.iter().map(|(_, i)| i.clone()).collect::<Vec<_>>(),
            Kind::Mlp(_) => Vec::new(),
        };
        assert_eq!(items(&a), items(&b));
    }

    #[test]
    fn misfits_name_the_item_and_both_shapes() {
        let cases = [
            (
                "seq(conv2d(3, 8, 3), flatten, linear(5408, 10))",
                "item 0, conv2d(3, 8, 3): Conv2d needs [N, 3, H, W], got [N, 1, 28, 28]",
            ),
            (
                "seq(conv2d(1, 8, 3), flatten, linear(100, 10))",
                "item 2, linear(100, 10): Linear(100 -> 10) needs [N, 100], got [N, 5408]",
            ),
            ("seq(conv2d(1, 8, 3), relu)", "the model's output is [N, 8, 26, 26]"),
            (
                "seq(maxpool2d(2), maxpool2d(2), maxpool2d(2), maxpool2d(2), maxpool2d(2), flatten, linear(1, 10))",
                "item 4",
            ),
            ("mlp(100, 16, 10)", "Linear(100 -> 16) needs [N, 100], got [N, 784]"),
            ("seq(linear(784, 10), batchnorm2d(10))", "BatchNorm2d(10) needs [N, 10, H, W], got [N, 10]"),
        ];
        for (text, want) in cases {
            let spec = ModelSpec::parse(text).unwrap();
            let got = spec.check(&spec.build::<f32>(0), &[28, 28], 10).unwrap_err();
            assert!(got.contains(want), "{text}: {got}");
        }
    }

    #[test]
    fn bad_items_are_errors_naming_what_is_accepted() {
        let cases = [
            ("seq(conv3d(1, 2, 3))", "unknown item `conv3d`"),
            ("seq(conv2d(1, 2))", "`kernel` is required"),
            ("seq(conv2d(3, 4, 3, groups=2))", "groups=2 must divide in (3)"),
            ("seq(conv2d(1, 4, 3, padding=full))", "same or valid"),
            ("seq(conv2d(1, 4, 3, padding_mode=wrap))", "zeros, reflect, replicate, circular"),
            ("seq(maxpool2d(2, padding=2))", "at most half"),
            ("seq(dropout(1.5))", "[0, 1)"),
            ("seq(linear(0, 3))", "`in` must be positive"),
            ("seq(relu(2))", "too many positional arguments"),
            ("seq()", "at least one item"),
            ("seq(3)", "items are layers"),
            ("cnn(3)", "unknown model `cnn`"),
            ("seq(conv_transpose2d(2, 2, 3, output_padding=1))", "output_padding"),
        ];
        for (text, want) in cases {
            let e = ModelSpec::parse(text).unwrap_err().to_string();
            assert!(e.contains(want), "{text}: {e}");
        }
    }
}
