//! AdaBelief (Zhuang et al., 2020, "AdaBelief Optimizer: Adapting
//! Stepsizes by the Belief in Observed Gradients"), as Optax's
//! `adabelief`.

use crate::error::{Result, check, check_beta, check_common};
use crate::platform::Float;
use crate::rule::{OptaxMoments, State, UpdateRule, fused};

/// The hyper-parameters of [`AdaBelief`]: Optax's defaults, PyTorch's key
/// names (`betas` for `b1`, `b2`). Optax has no default rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdaBeliefConfig {
    /// Learning rate η.
    pub lr: f64,
    /// (β₁, β₂) = (0.9, 0.999).
    pub betas: (f64, f64),
    /// ε (1e-16), added to √ŝ.
    pub eps: f64,
    /// ε inside (1e-16), added to s every step.
    pub eps_root: f64,
}

impl AdaBeliefConfig {
    /// Optax's defaults at rate `lr`.
    pub fn with_lr(lr: f64) -> Self {
        Self { lr, betas: (0.9, 0.999), eps: 1e-16, eps_root: 1e-16 }
    }
}

/// AdaBelief as `optax.adabelief` (`scale_by_belief`,
/// `scale_by_learning_rate`), operation for operation:
/// m ← (1 − β₁)g + β₁m; s ← (1 − β₂)(g − m)² + β₂s + ε_root;
/// m̂ = m/(1 − β₁ᵗ), ŝ = s/(1 − β₂ᵗ); θ ← θ + (−η)·m̂/(√ŝ + ε). Adam with
/// the variance of the gradient around its prediction m in place of its
/// second moment: a step is large where the gradient is as predicted.
///
/// ```
/// use gradus_optim::{AdaBelief, AdaBeliefConfig, Optimizer};
/// let mut opt = Optimizer::new(AdaBelief::new(AdaBeliefConfig::with_lr(0.1)).unwrap());
/// let mut theta = vec![1.0f64];
/// opt.update(0, &mut theta, &[2.0]).unwrap();
/// // First step: m = 0.1g, so m̂ = g and ŝ = (g − m)² = (0.9g)²; the step is η/0.9.
/// assert!((theta[0] - (1.0 - 0.1 / 0.9)).abs() < 1e-12);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct AdaBelief {
    c: AdaBeliefConfig,
}

impl AdaBelief {
    /// Validates `config`.
    ///
    /// # Errors
    /// A negative rate, eps or eps_root, or a β outside [0, 1).
    pub fn new(config: AdaBeliefConfig) -> Result<Self> {
        let c = config;
        check_common("adabelief", c.lr, 0.0, c.eps)?;
        check(c.eps_root >= 0.0, "adabelief", "eps_root", || format!("must be >= 0, got {}", c.eps_root))?;
        check_beta("adabelief", "betas.0", c.betas.0)?;
        check_beta("adabelief", "betas.1", c.betas.1)?;
        Ok(Self { c })
    }
}

impl<T: Float> UpdateRule<T> for AdaBelief {
    fn name(&self) -> &'static str {
        "adabelief"
    }

    fn default_lr(&self) -> f64 {
        self.c.lr
    }

    fn slots(&self, _shape: &[usize]) -> &'static [&'static str] {
        &["mu", "nu"]
    }

    fn update(&self, lr: f64, param: &mut [T], grad: &[T], state: &mut State<T>) {
        let c = self.c;
        state.step += 1;
        let OptaxMoments { b1, b2, one_b1, one_b2, d1, d2 } = OptaxMoments::<T>::at(c.betas, state.step);
        let (eps, eps_root, neg_lr) = (T::of(c.eps), T::of(c.eps_root), T::of(-lr));
        let [m, s] = state.slots_mut::<2>();
        fused(param, grad, [m, s], |p, g, [m, s]| {
            *m = one_b1 * g + b1 * *m;
            let e = g - *m;
            *s = one_b2 * (e * e) + b2 * *s + eps_root;
            let u = (*m * d1) / ((*s * d2).sqrt() + eps);
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
