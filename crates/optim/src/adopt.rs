//! ADOPT (Taniguchi et al., 2024, "ADOPT: Modified Adam Can Converge with
//! Any β₂ with the Optimal Rate"), as Optax's `contrib.adopt`: the gradient
//! is normalised by the second moment of the steps before it.

use crate::error::{Result, check_beta, check_common};
use crate::platform::Float;
use crate::rule::{State, UpdateRule, fused};

/// The hyper-parameters of [`Adopt`]: Optax's defaults, PyTorch's key names
/// (`betas` for `b1`, `b2`). Optax has no default rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdoptConfig {
    /// Learning rate η.
    pub lr: f64,
    /// (β₁, β₂) = (0.9, 0.9999).
    pub betas: (f64, f64),
    /// ε (1e-6), the floor of √v.
    pub eps: f64,
    /// Nesterov momentum (false).
    pub nesterov: bool,
    /// Clip the normalised gradient to ±t^¼ at step t (from 0) (true).
    pub use_clipping: bool,
}

impl AdoptConfig {
    /// Optax's defaults at rate `lr`.
    pub fn with_lr(lr: f64) -> Self {
        Self { lr, betas: (0.9, 0.9999), eps: 1e-6, nesterov: false, use_clipping: true }
    }
}

/// ADOPT as `optax.contrib.adopt` (`scale_by_adopt`,
/// `scale_by_learning_rate`), operation for operation, at step t counted
/// from 0: v_new = (1 − β₂)g² + β₂v (v_new = g² at t = 0); the gradient
/// normalised by the *old* v, n = g/max(√v, ε), clipped to ±t^¼; m ← (1 −
/// β₁)n + β₁m (m unchanged at t = 0); θ ← θ + (−η)·m (Nesterov: (1 −
/// β₁)n + β₁m). The first step moves nothing: it only measures v. Using the
/// v of earlier gradients makes the normalised step independent of the
/// current gradient, which is what lets ADOPT converge for any β₂.
///
/// ```
/// use gradus_optim::{Adopt, AdoptConfig, Optimizer};
/// let mut opt = Optimizer::new(Adopt::new(AdoptConfig::with_lr(0.1)).unwrap());
/// let mut theta = vec![1.0f64];
/// opt.update(0, &mut theta, &[2.0]).unwrap();
/// assert_eq!(theta, [1.0]); // the first step only measures g²
/// opt.update(0, &mut theta, &[2.0]).unwrap();
/// // then m = (1 − β₁)·clip(g/√v, ±1) = 0.1: θ moves by η·0.1.
/// assert!((theta[0] - 0.99).abs() < 1e-12);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Adopt {
    c: AdoptConfig,
}

impl Adopt {
    /// Validates `config`.
    ///
    /// # Errors
    /// A negative rate or eps, or a β outside [0, 1).
    pub fn new(config: AdoptConfig) -> Result<Self> {
        let c = config;
        check_common("adopt", c.lr, 0.0, c.eps)?;
        check_beta("adopt", "betas.0", c.betas.0)?;
        check_beta("adopt", "betas.1", c.betas.1)?;
        Ok(Self { c })
    }
}

impl<T: Float> UpdateRule<T> for Adopt {
    fn name(&self) -> &'static str {
        "adopt"
    }

    fn default_lr(&self) -> f64 {
        self.c.lr
    }

    fn slots(&self, _shape: &[usize]) -> &'static [&'static str] {
        &["mu", "nu"]
    }

    fn update(&self, lr: f64, param: &mut [T], grad: &[T], state: &mut State<T>) {
        let c = self.c;
        let count = state.step;
        state.step += 1;
        // Optax's jnp.where(count > 0, β, …): β₂ is 0 and β₁ is 1 at count 0.
        let (b1, b2) = if count > 0 { c.betas } else { (1.0, 0.0) };
        let (one_b1, b1, one_b2, b2) = (T::of(1.0 - b1), T::of(b1), T::of(1.0 - b2), T::of(b2));
        let clip = T::of((count as f64).powf(0.25));
        let (eps, neg_lr) = (T::of(c.eps), T::of(-lr));
        fused(param, grad, state.slots_mut::<2>(), |p, g, [m, v]| {
            let root = v.sqrt();
            // jnp.maximum and jnp.clip, which keep a NaN.
            let n = g / if root < eps { eps } else { root };
            let n = if !c.use_clipping {
                n
            } else if n < -clip {
                -clip
            } else if n > clip {
                clip
            } else {
                n
            };
            *v = one_b2 * (g * g) + b2 * *v;
            *m = one_b1 * n + b1 * *m;
            let step = if c.nesterov { one_b1 * n + b1 * *m } else { *m };
            *p += neg_lr * step;
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
