//! AdEMAMix (Pagliardini, Ablin & Grangier, 2024, "The AdEMAMix Optimizer:
//! Better, Faster, Older"), as Optax's `contrib.ademamix`: Adam's step with
//! a second, slow momentum mixed in.

use crate::error::{Result, check, check_beta, check_common};
use crate::platform::Float;
use crate::rule::{State, UpdateRule, fused, optax_debias};

/// The hyper-parameters of [`Ademamix`]: Optax's defaults, PyTorch's key
/// names (`betas` for `b1`, `b2`, `b3`). Optax has no default rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdemamixConfig {
    /// Learning rate η.
    pub lr: f64,
    /// (β₁, β₂, β₃) = (0.9, 0.999, 0.9999): the fast momentum's, the second
    /// moment's and the slow momentum's decays.
    pub betas: (f64, f64, f64),
    /// α (5.0): the slow momentum's weight.
    pub alpha: f64,
    /// ε (1e-8), added to √v̂.
    pub eps: f64,
    /// ε inside the root (0).
    pub eps_root: f64,
    /// λ (0), added to the step as λθ.
    pub weight_decay: f64,
}

impl AdemamixConfig {
    /// Optax's defaults at rate `lr`.
    pub fn with_lr(lr: f64) -> Self {
        Self { lr, betas: (0.9, 0.999, 0.9999), alpha: 5.0, eps: 1e-8, eps_root: 0.0, weight_decay: 0.0 }
    }
}

/// AdEMAMix as `optax.contrib.ademamix` (`scale_by_ademamix`,
/// `add_decayed_weights`, `scale_by_learning_rate`), operation for
/// operation: m₁ ← (1 − β₁)g + β₁m₁; m₂ ← (1 − β₃)g + β₃m₂; v ← (1 − β₂)g² +
/// β₂v; u = (m₁·d₁ + α·m₂)/(√(v·d₂ + ε_root) + ε) + λθ with dᵢ = 1/(1 −
/// βᵢᵗ) (the slow momentum is not bias-corrected: it fills slowly);
/// θ ← θ + (−η)·u. Optax's schedules of α and β₃ are not taken: both are
/// constants here (a warm-up of α is the paper's advice for long runs).
///
/// ```
/// use gradus_optim::{Ademamix, AdemamixConfig, Optimizer};
/// let mut opt = Optimizer::new(Ademamix::new(AdemamixConfig::with_lr(0.1)).unwrap());
/// let mut theta = vec![1.0f64];
/// opt.update(0, &mut theta, &[2.0]).unwrap();
/// // First step: (g + α(1 − β₃)g)/|g| = 1 + 5·1e-4.
/// assert!((theta[0] - (1.0 - 0.1 * 1.0005)).abs() < 1e-8);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Ademamix {
    c: AdemamixConfig,
}

impl Ademamix {
    /// Validates `config`.
    ///
    /// # Errors
    /// A negative rate, eps, eps_root, α or weight decay, or a β outside [0, 1).
    pub fn new(config: AdemamixConfig) -> Result<Self> {
        let c = config;
        check_common("ademamix", c.lr, c.weight_decay, c.eps)?;
        check(c.eps_root >= 0.0, "ademamix", "eps_root", || format!("must be >= 0, got {}", c.eps_root))?;
        check(c.alpha >= 0.0, "ademamix", "alpha", || format!("must be >= 0, got {}", c.alpha))?;
        check_beta("ademamix", "betas.0", c.betas.0)?;
        check_beta("ademamix", "betas.1", c.betas.1)?;
        check_beta("ademamix", "betas.2", c.betas.2)?;
        Ok(Self { c })
    }
}

impl<T: Float> UpdateRule<T> for Ademamix {
    fn name(&self) -> &'static str {
        "ademamix"
    }

    fn default_lr(&self) -> f64 {
        self.c.lr
    }

    fn slots(&self, _shape: &[usize]) -> &'static [&'static str] {
        &["m1", "m2", "nu"]
    }

    fn update(&self, lr: f64, param: &mut [T], grad: &[T], state: &mut State<T>) {
        let c = self.c;
        state.step += 1;
        let (b1, b2, b3) = c.betas;
        let (d1, d2) = (optax_debias::<T>(b1, state.step), optax_debias::<T>(b2, state.step));
        let (one_b1, one_b2, one_b3) = (T::of(1.0 - b1), T::of(1.0 - b2), T::of(1.0 - b3));
        let (b1, b2, b3) = (T::of(b1), T::of(b2), T::of(b3));
        let (alpha, eps, eps_root) = (T::of(c.alpha), T::of(c.eps), T::of(c.eps_root));
        let (wd, neg_lr) = (T::of(c.weight_decay), T::of(-lr));
        fused(param, grad, state.slots_mut::<3>(), |p, g, [m1, m2, v]| {
            *m1 = one_b1 * g + b1 * *m1;
            *m2 = one_b3 * g + b3 * *m2;
            *v = one_b2 * (g * g) + b2 * *v;
            let u = (*m1 * d1 + alpha * *m2) / ((*v * d2 + eps_root).sqrt() + eps);
            // Optax skips the decay when it is 0.
            let u = if c.weight_decay == 0.0 { u } else { u + wd * *p };
            *p += neg_lr * u;
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
