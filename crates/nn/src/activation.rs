//! One module per activation (PReLU's α and Swish's β
//! learnable), softmax modules, and [`Activation`], the name a builder or a
//! spec string picks one by.

use crate::{Module, Param, Saturating, Visitor, Watch, init::Nonlinearity};
use gradus_autodiff::{Tape, Var};
use gradus_tensor::{Float, Tensor};
use std::fmt;
use std::str::FromStr;

macro_rules! plain_activation {
    ($($(#[$doc:meta])* $name:ident => |$x:ident| $body:expr, $watch:expr;)*) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $name;

        impl<T: Float> Module<T> for $name {
            crate::module::same_shape!();
            crate::module::position_wise!();
            fn forward(&self, _tape: &Tape<T>, $x: &Var<T>) -> Var<T> {
                $body
            }

            fn watch(&self) -> Option<Watch> {
                $watch
            }
        }
    )*};
}

plain_activation! {
    /// ReLU max(0, z).
    Relu => |x| x.relu(), Some(Watch::Dead);
    /// Logistic sigmoid 1/(1 + e^−z).
    Sigmoid => |x| x.sigmoid(), Some(Watch::Saturated(Saturating::Sigmoid));
    /// Hyperbolic tangent.
    Tanh => |x| x.tanh(), Some(Watch::Saturated(Saturating::Tanh));
    /// SiLU z·σ(z).
    Silu => |x| x.silu(), None;
    /// Mish z·tanh(softplus(z)).
    Mish => |x| x.mish(), None;
    /// SELU with Klambauer et al.'s constants.
    Selu => |x| x.selu(), None;
    /// log σ(z), stable for large |z|.
    LogSigmoid => |x| x.logsigmoid(), None;
}

/// Leaky ReLU: z for z > 0, `negative_slope`·z otherwise (default 0.01).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeakyRelu {
    /// The slope for z < 0.
    pub negative_slope: f64,
}

impl Default for LeakyRelu {
    fn default() -> Self {
        Self { negative_slope: 0.01 }
    }
}

impl<T: Float> Module<T> for LeakyRelu {
    crate::module::same_shape!();
    crate::module::position_wise!();
    fn forward(&self, _tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        x.leaky_relu(T::of(self.negative_slope))
    }
}

/// ELU: z for z > 0, α(eᶻ − 1) otherwise (default α = 1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Elu {
    /// α.
    pub alpha: f64,
}

impl Default for Elu {
    fn default() -> Self {
        Self { alpha: 1.0 }
    }
}

impl<T: Float> Module<T> for Elu {
    crate::module::same_shape!();
    crate::module::position_wise!();
    fn forward(&self, _tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        x.elu(T::of(self.alpha))
    }
}

/// GELU z·Φ(z), exact (erf) or with the tanh approximation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Gelu {
    /// Use ½z(1 + tanh(√(2/π)(z + 0.044715z³))) (PyTorch's `approximate='tanh'`).
    pub tanh_approximation: bool,
}

impl<T: Float> Module<T> for Gelu {
    crate::module::same_shape!();
    crate::module::position_wise!();
    fn forward(&self, _tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        if self.tanh_approximation { x.gelu_tanh() } else { x.gelu() }
    }
}

/// softplus (1/β)·ln(1 + e^{βz}), linear above `threshold` (defaults β = 1,
/// threshold = 20, as PyTorch).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Softplus {
    /// β.
    pub beta: f64,
    /// Where βz exceeds it, the output is z.
    pub threshold: f64,
}

impl Default for Softplus {
    fn default() -> Self {
        Self { beta: 1.0, threshold: 20.0 }
    }
}

impl<T: Float> Module<T> for Softplus {
    crate::module::same_shape!();
    crate::module::position_wise!();
    fn forward(&self, _tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        x.softplus(T::of(self.beta), T::of(self.threshold))
    }
}

/// Hardtanh: clamps into [min, max] (default [−1, 1]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hardtanh {
    /// Lower end.
    pub min: f64,
    /// Upper end.
    pub max: f64,
}

impl Default for Hardtanh {
    fn default() -> Self {
        Self { min: -1.0, max: 1.0 }
    }
}

impl<T: Float> Module<T> for Hardtanh {
    crate::module::same_shape!();
    crate::module::position_wise!();
    fn forward(&self, _tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        x.hardtanh(T::of(self.min), T::of(self.max))
    }
}

/// Softmax along `axis`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Softmax {
    /// The axis that sums to 1.
    pub axis: isize,
}

impl<T: Float> Module<T> for Softmax {
    crate::module::same_shape!();
    fn forward(&self, _tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        x.softmax(self.axis)
    }
}

/// Log-softmax along `axis`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogSoftmax {
    /// The axis normalised over.
    pub axis: isize,
}

impl<T: Float> Module<T> for LogSoftmax {
    crate::module::same_shape!();
    fn forward(&self, _tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        x.log_softmax(self.axis)
    }
}

/// PReLU: the generalised rectifier max(0, z) + α·min(0, z) with α learned,
/// one shared α or one per channel (dimension 1 of the input), initialised
/// to 0.25 as PyTorch.
#[derive(Debug)]
pub struct PRelu<T: Float> {
    alpha: Param<T>,
}

impl<T: Float> PRelu<T> {
    /// `num_parameters` α's (1, or the channel count), all `init`.
    ///
    /// # Panics
    /// If `num_parameters` is 0.
    pub fn new(num_parameters: usize, init: f64) -> Self {
        assert!(num_parameters > 0, "PRelu: num_parameters must be at least 1");
        Self { alpha: Param::new(Tensor::full(&[num_parameters], T::of(init))) }
    }

    /// α.
    pub fn alpha(&self) -> &Param<T> {
        &self.alpha
    }
}

impl<T: Float> Default for PRelu<T> {
    fn default() -> Self {
        Self::new(1, 0.25)
    }
}

impl<T: Float> Module<T> for PRelu<T> {
    #[track_caller]
    fn forward(&self, tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        if let Some(Err(e)) = Module::<T>::output_shape(self, x.shape()) {
            panic!("{e}");
        }
        let alpha = self.alpha.var(tape);
        let n = alpha.shape()[0];
        if n == 1 {
            return x.prelu(&alpha.reshape(&[]));
        }
        // α along dimension 1: [n, 1, …, 1] broadcasts against [batch, n, …].
        let mut shape = vec![1isize; x.rank() - 1];
        shape[0] = n as isize;
        x.prelu(&alpha.reshape(&shape))
    }

    fn visit<'a>(&'a self, v: &mut Visitor<'a, '_, T>) {
        v.param("weight", &self.alpha);
    }

    /// The input's shape; with more than one parameter, an input whose
    /// dimension 1 (channels or features) has that many entries, as
    /// `nn.PReLU(num_parameters)` needs.
    fn output_shape(&self, input: &[usize]) -> Option<Result<Vec<usize>, String>> {
        let n = self.alpha.shape()[0];
        Some(if n == 1 || (input.len() >= 2 && input[1] == n) {
            Ok(input.to_vec())
        } else {
            Err(format!("PRelu({n}) needs an input with {n} channels (or features) in dimension 1, got {input:?}"))
        })
    }
}

/// Swish z·σ(βz), with β fixed or learned (β = 1 is SiLU).
#[derive(Debug)]
pub struct Swish<T: Float> {
    beta: Param<T>,
}

impl<T: Float> Swish<T> {
    /// Swish with β starting at `beta`; learned unless `learnable` is false
    /// (then β is a frozen parameter, still saved in checkpoints).
    pub fn new(beta: f64, learnable: bool) -> Self {
        let beta = Param::new(Tensor::scalar(T::of(beta)));
        beta.freeze(!learnable);
        Self { beta }
    }

    /// β.
    pub fn beta(&self) -> &Param<T> {
        &self.beta
    }
}

impl<T: Float> Module<T> for Swish<T> {
    crate::module::same_shape!();
    fn forward(&self, tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        x.swish(&self.beta.var(tape))
    }

    fn visit<'a>(&'a self, v: &mut Visitor<'a, '_, T>) {
        v.param("beta", &self.beta);
    }
}

/// An activation by name, for builders ([`Mlp`](crate::Mlp)) and spec
/// strings (`act=relu`). Parses from its lower-case name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Activation {
    /// `relu`.
    #[default]
    Relu,
    /// `leaky_relu` (slope 0.01).
    LeakyRelu,
    /// `prelu` (one learned α).
    PRelu,
    /// `sigmoid`.
    Sigmoid,
    /// `tanh`.
    Tanh,
    /// `silu`.
    Silu,
    /// `swish` (learned β from 1).
    Swish,
    /// `mish`.
    Mish,
    /// `gelu` (exact).
    Gelu,
    /// `gelu_tanh`.
    GeluTanh,
    /// `elu`.
    Elu,
    /// `selu`.
    Selu,
    /// `softplus`.
    Softplus,
}

impl Activation {
    /// Every activation, in the order of the docs.
    pub const ALL: [Activation; 13] = [
        Activation::Relu,
        Activation::LeakyRelu,
        Activation::PRelu,
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Silu,
        Activation::Swish,
        Activation::Mish,
        Activation::Gelu,
        Activation::GeluTanh,
        Activation::Elu,
        Activation::Selu,
        Activation::Softplus,
    ];

    /// Its name in spec strings.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::LeakyRelu => "leaky_relu",
            Activation::PRelu => "prelu",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Silu => "silu",
            Activation::Swish => "swish",
            Activation::Mish => "mish",
            Activation::Gelu => "gelu",
            Activation::GeluTanh => "gelu_tanh",
            Activation::Elu => "elu",
            Activation::Selu => "selu",
            Activation::Softplus => "softplus",
        }
    }

    /// A fresh module computing it.
    pub fn module<T: Float>(self) -> Box<dyn Module<T>> {
        match self {
            Activation::Relu => Box::new(Relu),
            Activation::LeakyRelu => Box::new(LeakyRelu::default()),
            Activation::PRelu => Box::new(PRelu::<T>::default()),
            Activation::Sigmoid => Box::new(Sigmoid),
            Activation::Tanh => Box::new(Tanh),
            Activation::Silu => Box::new(Silu),
            Activation::Swish => Box::new(Swish::<T>::new(1.0, true)),
            Activation::Mish => Box::new(Mish),
            Activation::Gelu => Box::new(Gelu { tanh_approximation: false }),
            Activation::GeluTanh => Box::new(Gelu { tanh_approximation: true }),
            Activation::Elu => Box::new(Elu::default()),
            Activation::Selu => Box::new(Selu),
            Activation::Softplus => Box::new(Softplus::default()),
        }
    }

    /// The nonlinearity whose [`gain`](crate::gain) suits weights feeding it.
    pub fn nonlinearity(self) -> Nonlinearity {
        match self {
            Activation::Sigmoid => Nonlinearity::Sigmoid,
            Activation::Tanh => Nonlinearity::Tanh,
            Activation::Selu => Nonlinearity::Selu,
            Activation::LeakyRelu => Nonlinearity::LeakyRelu(0.01),
            Activation::PRelu => Nonlinearity::LeakyRelu(0.25),
            _ => Nonlinearity::Relu,
        }
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An activation name that is not one of [`Activation::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown activation `{0}`; expected one of: {names}", names = Activation::ALL.map(Activation::name).join(", "))]
pub struct UnknownActivation(pub String);

impl FromStr for Activation {
    type Err = UnknownActivation;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Activation::ALL.into_iter().find(|a| a.name() == s).ok_or_else(|| UnknownActivation(s.to_string()))
    }
}
