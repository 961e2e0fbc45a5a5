//! The normalisation layers besides batch norm, as PyTorch defines them:
//! `LayerNorm` and `RMSNorm` over trailing dimensions, `GroupNorm` over
//! groups of channels, `InstanceNorm2d` over each plane. None keeps running
//! statistics, so each behaves the same in training and evaluation.

use crate::{Module, Param, Visitor};
use gradus_autodiff::{Tape, Var};
use gradus_tensor::{Float, Tensor};

/// The affine step shared by the layers: `x·weight + bias`, each present or
/// not, `weight` and `bias` reshaped to `shape` for broadcasting.
fn affine<T: Float>(
    tape: &Tape<T>,
    x: Var<T>,
    weight: Option<&Param<T>>,
    bias: Option<&Param<T>>,
    shape: &[isize],
) -> Var<T> {
    let x = match weight {
        Some(w) => x.mul(&w.var(tape).reshape(shape)),
        None => x,
    };
    match bias {
        Some(b) => x.add(&b.var(tape).reshape(shape)),
        None => x,
    }
}

/// Shows the optional `weight` and `bias` of a norm layer to `v`.
fn visit_affine<'a, T: Float>(v: &mut Visitor<'a, '_, T>, weight: Option<&'a Param<T>>, bias: Option<&'a Param<T>>) {
    if let Some(w) = weight {
        v.param("weight", w);
    }
    if let Some(b) = bias {
        v.param("bias", b);
    }
}

/// Whether `input` ends in `normalized`, for LayerNorm and RMSNorm.
fn trailing(what: &str, normalized: &[usize], input: &[usize]) -> Result<Vec<usize>, String> {
    if input.len() > normalized.len() && input.ends_with(normalized) {
        Ok(input.to_vec())
    } else {
        Err(format!("{what}({normalized:?}) needs [N, …, {}], got {input:?}", dims(normalized)))
    }
}

fn dims(d: &[usize]) -> String {
    d.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")
}

fn trailing_axes(k: usize) -> Vec<isize> {
    (1..=k as isize).rev().map(|a| -a).collect()
}

/// Layer normalisation (Ba et al. 2016), PyTorch's `nn.LayerNorm`: each
/// example normalised over its trailing `normalized_shape` dimensions,
/// y = (x − μ)/√(σ² + ε)·weight + bias, σ² biased; `weight` (ones) and
/// `bias` (zeros) have `normalized_shape`, present with
/// `elementwise_affine` (and `bias`).
///
/// ```
/// use gradus_autodiff::{Tape, Var};
/// use gradus_nn::{LayerNorm, Module};
/// use gradus_tensor::Tensor;
/// let ln = LayerNorm::<f64>::new(&[2]);
/// let x = Var::constant(Tensor::from_vec(vec![1.0, 3.0, -5.0, 5.0], &[2, 2]).unwrap());
/// let y = ln.forward(&Tape::new(), &x).into_value().to_vec();
/// assert!(y.iter().zip([-1.0, 1.0, -1.0, 1.0]).all(|(a, b)| (a - b).abs() < 1e-5));
/// ```
#[derive(Debug)]
pub struct LayerNorm<T: Float> {
    normalized_shape: Vec<usize>,
    eps: f64,
    weight: Option<Param<T>>,
    bias: Option<Param<T>>,
}

impl<T: Float> LayerNorm<T> {
    /// PyTorch's defaults: eps 1e-5, elementwise affine with a bias.
    pub fn new(normalized_shape: &[usize]) -> Self {
        Self::with_options(normalized_shape, 1e-5, true, true)
    }

    /// Every option of `nn.LayerNorm`.
    ///
    /// # Panics
    /// If `normalized_shape` is empty or holds a 0, or `eps` is negative or NaN.
    #[track_caller]
    pub fn with_options(normalized_shape: &[usize], eps: f64, elementwise_affine: bool, bias: bool) -> Self {
        assert!(
            !normalized_shape.is_empty() && !normalized_shape.contains(&0),
            "LayerNorm: normalized_shape must be positive sizes, got {normalized_shape:?}"
        );
        assert!(eps >= 0.0, "LayerNorm: eps must be non-negative, got {eps}");
        Self {
            normalized_shape: normalized_shape.to_vec(),
            eps,
            weight: elementwise_affine.then(|| Param::new(Tensor::ones(normalized_shape))),
            bias: (elementwise_affine && bias).then(|| Param::new(Tensor::zeros(normalized_shape))),
        }
    }
}

impl<T: Float> Module<T> for LayerNorm<T> {
    fn incremental(&self) -> bool {
        self.normalized_shape.len() == 1 // the last axis only
    }

    #[track_caller]
    fn forward(&self, tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        trailing("LayerNorm", &self.normalized_shape, x.shape()).unwrap_or_else(|e| panic!("{e}"));
        let shape: Vec<isize> = self.normalized_shape.iter().map(|&d| d as isize).collect();
        let y = x.normalize(trailing_axes(shape.len()), self.eps);
        affine(tape, y, self.weight.as_ref(), self.bias.as_ref(), &shape)
    }

    fn visit<'a>(&'a self, v: &mut Visitor<'a, '_, T>) {
        visit_affine(v, self.weight.as_ref(), self.bias.as_ref());
    }

    fn output_shape(&self, input: &[usize]) -> Option<Result<Vec<usize>, String>> {
        Some(trailing("LayerNorm", &self.normalized_shape, input))
    }
}

/// Root-mean-square normalisation (Zhang & Sennrich 2019), PyTorch's
/// `nn.RMSNorm`: y = x/√(mean(x²) + ε)·weight over the trailing
/// `normalized_shape` dimensions; `eps` `None` is the element type's
/// machine epsilon, as PyTorch's default. `weight` (ones) with
/// `elementwise_affine`.
///
/// ```
/// use gradus_autodiff::{Tape, Var};
/// use gradus_nn::{Module, RMSNorm};
/// use gradus_tensor::Tensor;
/// let norm = RMSNorm::<f64>::new(&[2]);
/// let y = norm.forward(&Tape::new(), &Var::constant(Tensor::from_vec(vec![3.0, 4.0], &[1, 2]).unwrap()));
/// let rms = 12.5f64.sqrt();
/// assert!(y.value().to_vec().iter().zip([3.0 / rms, 4.0 / rms]).all(|(a, b)| (a - b).abs() < 1e-12));
/// ```
#[derive(Debug)]
pub struct RMSNorm<T: Float> {
    normalized_shape: Vec<usize>,
    eps: Option<f64>,
    weight: Option<Param<T>>,
}

impl<T: Float> RMSNorm<T> {
    /// PyTorch's defaults: eps the machine epsilon, elementwise affine.
    pub fn new(normalized_shape: &[usize]) -> Self {
        Self::with_options(normalized_shape, None, true)
    }

    /// Every option of `nn.RMSNorm`.
    ///
    /// # Panics
    /// If `normalized_shape` is empty or holds a 0, or `eps` is negative or NaN.
    #[track_caller]
    pub fn with_options(normalized_shape: &[usize], eps: Option<f64>, elementwise_affine: bool) -> Self {
        assert!(
            !normalized_shape.is_empty() && !normalized_shape.contains(&0),
            "RMSNorm: normalized_shape must be positive sizes, got {normalized_shape:?}"
        );
        assert!(eps.is_none_or(|e| e >= 0.0), "RMSNorm: eps must be non-negative, got {eps:?}");
        Self {
            normalized_shape: normalized_shape.to_vec(),
            eps,
            weight: elementwise_affine.then(|| Param::new(Tensor::ones(normalized_shape))),
        }
    }
}

impl<T: Float> Module<T> for RMSNorm<T> {
    fn incremental(&self) -> bool {
        self.normalized_shape.len() == 1 // the last axis only
    }

    #[track_caller]
    fn forward(&self, tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        trailing("RMSNorm", &self.normalized_shape, x.shape()).unwrap_or_else(|e| panic!("{e}"));
        let shape: Vec<isize> = self.normalized_shape.iter().map(|&d| d as isize).collect();
        let eps = self.eps.unwrap_or_else(|| T::epsilon().as_f64());
        let y = x.rms_normalize(trailing_axes(shape.len()), eps);
        affine(tape, y, self.weight.as_ref(), None, &shape)
    }

    fn visit<'a>(&'a self, v: &mut Visitor<'a, '_, T>) {
        visit_affine(v, self.weight.as_ref(), None);
    }

    fn output_shape(&self, input: &[usize]) -> Option<Result<Vec<usize>, String>> {
        Some(trailing("RMSNorm", &self.normalized_shape, input))
    }
}

/// Group normalisation (Wu & He 2018), PyTorch's `nn.GroupNorm`: the
/// channels of `[N, C, …]` split into `num_groups` groups of consecutive
/// channels, each example's group normalised over its channels and
/// positions, then scaled and shifted per channel (`weight` ones, `bias`
/// zeros, `[C]`, with `affine`).
///
/// ```
/// use gradus_autodiff::{Tape, Var};
/// use gradus_nn::{GroupNorm, Module};
/// use gradus_tensor::Tensor;
/// let gn = GroupNorm::<f64>::new(2, 4);
/// let x = Var::constant(Tensor::from_vec((0..16).map(f64::from).collect(), &[2, 4, 2]).unwrap());
/// let y = gn.forward(&Tape::new(), &x).into_value();
/// // Each group of two channels × two positions has mean 0.
/// assert!(y.reshape(&[4, 4]).sum(1, false).to_vec().iter().all(|s| s.abs() < 1e-12));
/// ```
#[derive(Debug)]
pub struct GroupNorm<T: Float> {
    num_groups: usize,
    num_channels: usize,
    eps: f64,
    weight: Option<Param<T>>,
    bias: Option<Param<T>>,
}

impl<T: Float> GroupNorm<T> {
    /// PyTorch's defaults: eps 1e-5, affine.
    pub fn new(num_groups: usize, num_channels: usize) -> Self {
        Self::with_options(num_groups, num_channels, 1e-5, true)
    }

    /// Every option of `nn.GroupNorm`.
    ///
    /// # Panics
    /// If `num_groups` is 0 or does not divide `num_channels`, or `eps` is negative or NaN.
    #[track_caller]
    pub fn with_options(num_groups: usize, num_channels: usize, eps: f64, affine: bool) -> Self {
        assert!(
            num_groups > 0 && num_channels.is_multiple_of(num_groups),
            "GroupNorm: num_channels ({num_channels}) must be divisible by num_groups ({num_groups})"
        );
        assert!(eps >= 0.0, "GroupNorm: eps must be non-negative, got {eps}");
        let c = [num_channels];
        Self {
            num_groups,
            num_channels,
            eps,
            weight: affine.then(|| Param::new(Tensor::ones(&c))),
            bias: affine.then(|| Param::new(Tensor::zeros(&c))),
        }
    }

    fn check(&self, input: &[usize]) -> Result<Vec<usize>, String> {
        let c = self.num_channels;
        match input {
            [_, ch, ..] if *ch == c => Ok(input.to_vec()),
            _ => Err(format!("GroupNorm({}, {c}) needs [N, {c}, …], got {input:?}", self.num_groups)),
        }
    }
}

impl<T: Float> Module<T> for GroupNorm<T> {
    #[track_caller]
    fn forward(&self, tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        let s = self.check(x.shape()).unwrap_or_else(|e| panic!("{e}"));
        let g = self.num_groups as isize;
        let grouped = x.reshape(&[s[0] as isize, g, -1]).normalize(2, self.eps);
        let y = grouped.reshape(&s.iter().map(|&d| d as isize).collect::<Vec<_>>());
        let mut per_channel = vec![self.num_channels as isize];
        per_channel.extend(std::iter::repeat_n(1, s.len() - 2));
        affine(tape, y, self.weight.as_ref(), self.bias.as_ref(), &per_channel)
    }

    fn visit<'a>(&'a self, v: &mut Visitor<'a, '_, T>) {
        visit_affine(v, self.weight.as_ref(), self.bias.as_ref());
    }

    fn output_shape(&self, input: &[usize]) -> Option<Result<Vec<usize>, String>> {
        Some(self.check(input))
    }
}

/// Instance normalisation (Ulyanov et al. 2016), PyTorch's
/// `nn.InstanceNorm2d` with its defaults `track_running_stats=False`: each
/// plane of `[N, C, H, W]` normalised over its own positions, in training
/// and evaluation alike; with `affine`, scaled and shifted per channel
/// (`weight` ones, `bias` zeros).
///
/// ```
/// use gradus_autodiff::{Tape, Var};
/// use gradus_nn::{InstanceNorm2d, Module};
/// use gradus_tensor::Tensor;
/// let norm = InstanceNorm2d::<f64>::new(2);
/// let x = Var::constant(Tensor::from_vec((0..8).map(f64::from).collect(), &[1, 2, 2, 2]).unwrap());
/// let y = norm.forward(&Tape::new(), &x).into_value();
/// assert!(y.sum([2, 3], false).to_vec().iter().all(|s| s.abs() < 1e-12));
/// ```
#[derive(Debug)]
pub struct InstanceNorm2d<T: Float> {
    num_features: usize,
    eps: f64,
    weight: Option<Param<T>>,
    bias: Option<Param<T>>,
}

impl<T: Float> InstanceNorm2d<T> {
    /// PyTorch's defaults: eps 1e-5, no affine step.
    pub fn new(num_features: usize) -> Self {
        Self::with_options(num_features, 1e-5, false)
    }

    /// `nn.InstanceNorm2d(num_features, eps, affine=affine)`.
    ///
    /// # Panics
    /// If `num_features` is 0, or `eps` is negative or NaN.
    #[track_caller]
    pub fn with_options(num_features: usize, eps: f64, affine: bool) -> Self {
        assert!(num_features > 0, "InstanceNorm2d: num_features must be positive");
        assert!(eps >= 0.0, "InstanceNorm2d: eps must be non-negative, got {eps}");
        let c = [num_features];
        Self {
            num_features,
            eps,
            weight: affine.then(|| Param::new(Tensor::ones(&c))),
            bias: affine.then(|| Param::new(Tensor::zeros(&c))),
        }
    }

    fn check(&self, input: &[usize]) -> Result<Vec<usize>, String> {
        let c = self.num_features;
        match input {
            [_, ch, _, _] if *ch == c => Ok(input.to_vec()),
            _ => Err(format!("InstanceNorm2d({c}) needs [N, {c}, H, W], got {input:?}")),
        }
    }
}

impl<T: Float> Module<T> for InstanceNorm2d<T> {
    #[track_caller]
    fn forward(&self, tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        self.check(x.shape()).unwrap_or_else(|e| panic!("{e}"));
        let y = x.normalize([2, 3], self.eps);
        affine(tape, y, self.weight.as_ref(), self.bias.as_ref(), &[self.num_features as isize, 1, 1])
    }

    fn visit<'a>(&'a self, v: &mut Visitor<'a, '_, T>) {
        visit_affine(v, self.weight.as_ref(), self.bias.as_ref());
    }

    fn output_shape(&self, input: &[usize]) -> Option<Result<Vec<usize>, String>> {
        Some(self.check(input))
    }
}
