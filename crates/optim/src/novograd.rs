//! NovoGrad (Ginsburg et al., 2019, "Stochastic Gradient Methods with
//! Layer-wise Adaptive Moments for Training of Deep Networks"), as Optax's
//! `novograd`: the second moment is one number per parameter tensor.

use crate::error::{Result, check, check_beta, check_common};
use crate::platform::Float;
use crate::rule::{State, UpdateRule, fused};

/// The hyper-parameters of [`Novograd`]: Optax's defaults, PyTorch's key
/// names (`betas` for `b1`, `b2`). Optax has no default rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NovogradConfig {
    /// Learning rate η.
    pub lr: f64,
    /// (β₁, β₂) = (0.9, 0.25): the momentum's decay and the decay of the
    /// tensor's squared gradient norm.
    pub betas: (f64, f64),
    /// ε (1e-6), added to √ν.
    pub eps: f64,
    /// ε inside the root (0).
    pub eps_root: f64,
    /// λ (0): λθ added to the normalised gradient, inside the momentum.
    pub weight_decay: f64,
}

impl NovogradConfig {
    /// Optax's defaults at rate `lr`.
    pub fn with_lr(lr: f64) -> Self {
        Self { lr, betas: (0.9, 0.25), eps: 1e-6, eps_root: 0.0, weight_decay: 0.0 }
    }
}

/// NovoGrad as `optax.novograd` (`scale_by_novograd`,
/// `scale_by_learning_rate`), operation for operation. Per parameter
/// tensor, ν = ‖g‖² at the first step, then ν ← (1 − β₂)‖g‖² + β₂ν; per
/// element, u = g/(√(ν + ε_root) + ε) + λθ, m = u at the first step, then
/// m ← β₁m + u; θ ← θ + (−η)·m. One adaptive scale per layer instead of
/// Adam's per element: the state is the momentum and one number (the
/// scalar `nu`).
///
/// ```
/// use gradus_optim::{Novograd, NovogradConfig, Optimizer};
/// let mut opt = Optimizer::new(Novograd::new(NovogradConfig::with_lr(0.1)).unwrap());
/// let mut theta = vec![1.0f64, 1.0];
/// opt.update(0, &mut theta, &[3.0, 4.0]).unwrap();
/// // The first step is η·g/‖g‖ (‖g‖ = 5), up to ε.
/// assert!((theta[0] - 0.94).abs() < 1e-6 && (theta[1] - 0.92).abs() < 1e-6);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Novograd {
    c: NovogradConfig,
}

impl Novograd {
    /// Validates `config`.
    ///
    /// # Errors
    /// A negative rate, eps, eps_root or weight decay, or a β outside [0, 1).
    pub fn new(config: NovogradConfig) -> Result<Self> {
        let c = config;
        check_common("novograd", c.lr, c.weight_decay, c.eps)?;
        check(c.eps_root >= 0.0, "novograd", "eps_root", || format!("must be >= 0, got {}", c.eps_root))?;
        check_beta("novograd", "betas.0", c.betas.0)?;
        check_beta("novograd", "betas.1", c.betas.1)?;
        Ok(Self { c })
    }
}

impl<T: Float> UpdateRule<T> for Novograd {
    fn name(&self) -> &'static str {
        "novograd"
    }

    fn default_lr(&self) -> f64 {
        self.c.lr
    }

    fn slots(&self, _shape: &[usize]) -> &'static [&'static str] {
        &["mu"]
    }

    fn scalars(&self, _shape: &[usize]) -> &'static [&'static str] {
        &["nu"]
    }

    fn init(&self, _lr: f64, shape: &[usize]) -> State<T> {
        let len = shape.iter().product();
        State {
            shape: shape.to_vec(),
            step: 0,
            slots: vec![crate::platform::filled_vec(len, T::zero())],
            scalars: vec![0.0],
        }
    }

    fn update(&self, lr: f64, param: &mut [T], grad: &[T], state: &mut State<T>) {
        let c = self.c;
        let first = state.step == 0;
        state.step += 1;
        // ‖g‖², as `jnp.linalg.norm(g) ** 2`: the root of the sum of squares, squared.
        let norm = grad.iter().fold(T::zero(), |s, &g| s + g * g).sqrt();
        let squared = norm * norm;
        // In the compiled branch: (1 − β₂)‖g‖² + β₂ν as one fused multiply-add.
        let decayed = T::of(c.betas.1) * T::of(state.scalars[0]);
        let nu = if first { squared } else { T::of(1.0 - c.betas.1).mul_add(squared, decayed) };
        state.scalars[0] = nu.as_f64();
        let scale = (nu + T::of(c.eps_root)).sqrt() + T::of(c.eps);
        let inverse = T::one() / scale;
        let one = param.len() == 1;
        let (b1, wd, neg_lr) = (T::of(c.betas.0), T::of(c.weight_decay), T::of(-lr));
        // Optax's moments are updated inside `jax.lax.cond`, which XLA
        // compiles: it contracts a·b + c into one fused multiply-add and,
        // for more than one element, divides by the broadcast scalar by
        // multiplying with its reciprocal. It adds λθ even when λ = 0.
        fused(param, grad, state.slots_mut::<1>(), |p, g, [m]| {
            let u = if one { wd.mul_add(*p, g / scale) } else { g.mul_add(inverse, wd * *p) };
            *m = if first { u } else { b1.mul_add(*m, u) };
            *p += neg_lr * *m;
        });
    }

    fn momentum(&self) -> Option<f64> {
        Some(self.c.betas.0)
    }

    fn set_momentum(&mut self, momentum: f64) -> bool {
        self.c.betas.0 = momentum;
        true
    }
}
