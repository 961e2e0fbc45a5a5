//! Weight initialisation: Xavier in the lecture form and
//! in Glorot's, He/Kaiming, and the plain constant, normal and uniform fills.
//! Every scheme draws from the caller's RNG, so a seed fixes the weights.

use gradus_tensor::{Float, Tensor};
use rand::Rng;

/// Which fan Kaiming initialisation preserves the variance of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FanMode {
    /// Forward activations (the default; PyTorch's `fan_in`).
    FanIn,
    /// Backward gradients (`fan_out`).
    FanOut,
}

/// An initialisation scheme.
///
/// With fan-in n and fan-out m (for a weight of shape `[out, in, k…]`,
/// n = in·Πk and m = out·Πk, as PyTorch computes them):
///
/// | scheme | distribution |
/// |---|---|
/// | `XavierLecture` | U[−1/√n, 1/√n] (the lecture form; PyTorch's default for `Linear`) |
/// | `GlorotUniform { gain }` | U[±gain·√(6/(n+m))] |
/// | `GlorotNormal { gain }` | N(0, gain²·2/(n+m)) |
/// | `KaimingUniform { mode, gain }` | U[±gain·√(3/fan)] |
/// | `KaimingNormal { mode, gain }` | N(0, gain²/fan); with gain √2, He's N(0, 2/n) |
///
/// # Examples
/// ```
/// use gradus_nn::{FanMode, Init, gain, Nonlinearity};
/// use rand::{SeedableRng, rngs::StdRng};
/// let mut rng = StdRng::seed_from_u64(0);
/// let he = Init::KaimingNormal { mode: FanMode::FanIn, gain: gain(Nonlinearity::Relu) };
/// let w = he.tensor::<f64, _>(&[256, 784], &mut rng);
/// let var = w.var(.., 0, false).item();
/// assert!((var - 2.0 / 784.0).abs() < 1e-4);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// All zeros.
    Zeros,
    /// Every element `c`.
    Constant(f64),
    /// U[low, high].
    Uniform {
        /// Lower bound.
        low: f64,
        /// Upper bound.
        high: f64,
    },
    /// N(mean, std²).
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        std: f64,
    },
    /// U[−1/√fan_in, 1/√fan_in].
    XavierLecture,
    /// Glorot & Bengio (2010), uniform.
    GlorotUniform {
        /// Scale for the nonlinearity that follows ([`gain`]).
        gain: f64,
    },
    /// Glorot & Bengio (2010), normal.
    GlorotNormal {
        /// Scale for the nonlinearity that follows ([`gain`]).
        gain: f64,
    },
    /// He et al. (2015), uniform.
    KaimingUniform {
        /// The fan whose variance is preserved.
        mode: FanMode,
        /// Scale for the nonlinearity that follows ([`gain`]).
        gain: f64,
    },
    /// He et al. (2015), normal.
    KaimingNormal {
        /// The fan whose variance is preserved.
        mode: FanMode,
        /// Scale for the nonlinearity that follows ([`gain`]).
        gain: f64,
    },
}

/// Nonlinearities with a recommended [`gain`] (PyTorch's `calculate_gain`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Nonlinearity {
    /// Identity (and convolution-like linear maps): 1.
    Linear,
    /// 1.
    Sigmoid,
    /// 5/3.
    Tanh,
    /// √2.
    Relu,
    /// √(2/(1 + slope²)).
    LeakyRelu(f64),
    /// 3/4.
    Selu,
}

/// The gain that keeps activations' variance steady through `nonlinearity`.
pub fn gain(nonlinearity: Nonlinearity) -> f64 {
    match nonlinearity {
        Nonlinearity::Linear | Nonlinearity::Sigmoid => 1.0,
        Nonlinearity::Tanh => 5.0 / 3.0,
        Nonlinearity::Relu => 2f64.sqrt(),
        Nonlinearity::LeakyRelu(slope) => (2.0 / (1.0 + slope * slope)).sqrt(),
        Nonlinearity::Selu => 0.75,
    }
}

/// Fan-in and fan-out of a weight of `shape` (`[out, in, k…]`), as PyTorch.
///
/// # Panics
/// If `shape` has fewer than two dimensions.
#[track_caller]
pub fn fans(shape: &[usize]) -> (usize, usize) {
    assert!(shape.len() >= 2, "fans: need a weight of at least 2 dims, got shape {shape:?}");
    let receptive: usize = shape[2..].iter().product();
    (shape[1] * receptive, shape[0] * receptive)
}

impl Init {
    /// A tensor of `shape` drawn from this scheme, fans taken from `shape`.
    ///
    /// # Panics
    /// If the scheme needs fans and `shape` has fewer than two dimensions
    /// (use [`Init::tensor_with_fans`]), or its parameters are invalid.
    #[track_caller]
    pub fn tensor<T: Float, R: Rng + ?Sized>(&self, shape: &[usize], rng: &mut R) -> Tensor<T> {
        let needs_fans = !matches!(self, Init::Zeros | Init::Constant(_) | Init::Uniform { .. } | Init::Normal { .. });
        let (fan_in, fan_out) = if needs_fans { fans(shape) } else { (0, 0) };
        self.tensor_with_fans(shape, fan_in, fan_out, rng)
    }

    /// A tensor of `shape` drawn from this scheme with the given fans (for a
    /// bias, which takes its layer's fans).
    ///
    /// # Panics
    /// If a fan the scheme divides by is 0, or its parameters are invalid.
    #[track_caller]
    pub fn tensor_with_fans<T: Float, R: Rng + ?Sized>(
        &self,
        shape: &[usize],
        fan_in: usize,
        fan_out: usize,
        rng: &mut R,
    ) -> Tensor<T> {
        let uniform = |bound: f64, rng: &mut R| {
            if bound == 0.0 { Tensor::zeros(shape) } else { Tensor::uniform(shape, T::of(-bound), T::of(bound), rng) }
        };
        let fan = |n: usize| {
            assert!(n > 0, "{self:?}: fan is 0 for shape {shape:?}");
            n as f64
        };
        match *self {
            Init::Zeros => Tensor::zeros(shape),
            Init::Constant(c) => Tensor::full(shape, T::of(c)),
            Init::Uniform { low, high } => Tensor::uniform(shape, T::of(low), T::of(high), rng),
            Init::Normal { mean, std } => Tensor::normal(shape, T::of(mean), T::of(std), rng),
            Init::XavierLecture => uniform(1.0 / fan(fan_in).sqrt(), rng),
            Init::GlorotUniform { gain } => uniform(gain * (6.0 / (fan(fan_in) + fan(fan_out))).sqrt(), rng),
            Init::GlorotNormal { gain } => {
                Tensor::normal(shape, T::zero(), T::of(gain * (2.0 / (fan(fan_in) + fan(fan_out))).sqrt()), rng)
            }
            Init::KaimingUniform { mode, gain } => {
                let n = fan(if mode == FanMode::FanIn { fan_in } else { fan_out });
                uniform(gain * (3.0 / n).sqrt(), rng)
            }
            Init::KaimingNormal { mode, gain } => {
                let n = fan(if mode == FanMode::FanIn { fan_in } else { fan_out });
                Tensor::normal(shape, T::zero(), T::of(gain / n.sqrt()), rng)
            }
        }
    }

    /// He initialisation for ReLU networks, N(0, 2/fan_in): the default for
    /// [`Linear`](crate::Linear) weights.
    pub fn he() -> Self {
        Init::KaimingNormal { mode: FanMode::FanIn, gain: gain(Nonlinearity::Relu) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn stats(t: &Tensor<f64>) -> (f64, f64, f64) {
        let v = t.to_vec();
        let max = v.iter().fold(0f64, |m, x| m.max(x.abs()));
        (t.mean(.., false).item(), t.var(.., 0, false).item(), max)
    }

    #[test]
    fn moments_and_bounds_of_each_scheme() {
        let mut rng = StdRng::seed_from_u64(1);
        let shape = [300, 200];
        let (n, m) = (200.0, 300.0);
        let cases: [(Init, f64, f64); 6] = [
            (Init::XavierLecture, 1.0 / (3.0 * n), 1.0 / n.sqrt()),
            (Init::GlorotUniform { gain: 1.0 }, 2.0 / (n + m), (6.0 / (n + m)).sqrt()),
            (Init::GlorotNormal { gain: 1.0 }, 2.0 / (n + m), f64::INFINITY),
            (Init::KaimingUniform { mode: FanMode::FanIn, gain: 2f64.sqrt() }, 2.0 / n, (6.0 / n).sqrt()),
            (Init::KaimingNormal { mode: FanMode::FanOut, gain: 2f64.sqrt() }, 2.0 / m, f64::INFINITY),
            (Init::Uniform { low: -0.5, high: 0.5 }, 1.0 / 12.0, 0.5),
        ];
        for (init, var, bound) in cases {
            let (mean, v, max) = stats(&init.tensor(&shape, &mut rng));
            assert!(mean.abs() < 0.01 * var.sqrt() * 10.0, "{init:?}: mean {mean}");
            assert!((v / var - 1.0).abs() < 0.02, "{init:?}: variance {v}, expected {var}");
            assert!(max <= bound, "{init:?}: {max} beyond {bound}");
        }
    }

    #[test]
    fn constant_zeros_and_seeds() {
        let mut rng = StdRng::seed_from_u64(0);
        assert_eq!(Init::Constant(0.1).tensor::<f32, _>(&[3], &mut rng).to_vec(), vec![0.1; 3]);
        assert_eq!(Init::Zeros.tensor::<f32, _>(&[2, 2], &mut rng).to_vec(), vec![0.0; 4]);
        let a = Init::he().tensor::<f32, _>(&[4, 5], &mut StdRng::seed_from_u64(9));
        let b = Init::he().tensor::<f32, _>(&[4, 5], &mut StdRng::seed_from_u64(9));
        assert_eq!(a.to_vec(), b.to_vec());
    }

    #[test]
    fn fans_follow_pytorch() {
        assert_eq!(fans(&[10, 20]), (20, 10));
        assert_eq!(fans(&[8, 3, 5, 5]), (75, 200));
        assert_eq!(gain(Nonlinearity::LeakyRelu(0.01)), (2.0 / 1.0001f64).sqrt());
    }

    #[test]
    #[should_panic(expected = "at least 2 dims")]
    fn fan_schemes_need_a_matrix() {
        let _ = Init::XavierLecture.tensor::<f64, _>(&[5], &mut StdRng::seed_from_u64(0));
    }
}
