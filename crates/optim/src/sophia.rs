//! Sophia-H (Liu et al., 2024, "Sophia: A Scalable Stochastic
//! Second-order Optimizer for Language Model Pre-training"): momentum
//! divided by an estimate of the Hessian's diagonal, clipped element-wise.

use crate::error::{Result, check, check_beta, check_common};
use crate::platform::Float;
use crate::rule::{State, UpdateRule, fused};

/// The hyper-parameters of [`Sophia`], named as the Sophia authors' code
/// names them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SophiaConfig {
    /// Learning rate η (1e-4).
    pub lr: f64,
    /// (β₁, β₂) = (0.965, 0.99): of the momentum and of the diagonal's
    /// average (which moves once every k steps).
    pub betas: (f64, f64),
    /// ρ (0.04), scaling the diagonal in the denominator.
    pub rho: f64,
    /// Decoupled weight decay λ (0.1).
    pub weight_decay: f64,
    /// The diagonal is estimated every k steps (10).
    pub k: usize,
}

impl Default for SophiaConfig {
    fn default() -> Self {
        Self { lr: 1e-4, betas: (0.965, 0.99), rho: 0.04, weight_decay: 0.1, k: 10 }
    }
}

/// The floor of ρ·h in the denominator.
pub const SOPHIA_EPS: f64 = 1e-12;

/// Sophia-H: θ ← θ(1 − ηλ); m ← β₁m + (1 − β₁)g;
/// θ ← θ − η·clip(m/max(ρh, ε), −1, 1), with h the average
/// h ← β₂h + (1 − β₂)ĥ of Hutchinson's estimates ĥ = u ⊙ (Hu) of the
/// Hessian's diagonal (u Gaussian), one every k steps, before that step's
/// update. Where h is small or negative the step is ±η, signSGD's;
/// where curvature is large, Newton's step m/h scaled by 1/ρ. The estimate
/// comes from whoever computes gradients
/// ([`UpdateRule::curvature_request`],
/// [`UpdateRule::observe_curvature`]): the trainer by a
/// Hessian-vector product on the batch, `gradus trace` from the function's
/// Hessian. State: `exp_avg` (m) and `hessian` (h).
///
/// ```
/// use gradus_optim::{Estimate, Optimizer, Sophia, SophiaConfig};
/// let cfg = SophiaConfig { lr: 0.1, weight_decay: 0.0, betas: (0.0, 0.0), rho: 1.0, k: 1 };
/// let mut opt = Optimizer::<f64>::new(Sophia::new(cfg).unwrap());
/// let mut theta = vec![1.0, 1.0];
/// // f = 2θ₀² + 0.05θ₁²: gradient (4, 0.1), diagonal (4, 0.1).
/// opt.observe_curvature(0, &[2], &theta, Estimate::HessianDiagonal(&[4.0, 0.1])).unwrap();
/// opt.update(0, &mut theta, &[4.0, 0.1]).unwrap();
/// assert!((theta[0] - 0.9).abs() < 1e-15 && (theta[1] - 0.9).abs() < 1e-15); // m/h = 1 each, clipped at 1
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Sophia {
    c: SophiaConfig,
}

impl Sophia {
    /// Validates `config`.
    ///
    /// # Errors
    /// A negative rate, decay or ρ, a β outside [0, 1), or k = 0.
    pub fn new(config: SophiaConfig) -> Result<Self> {
        let c = config;
        check_common("sophia", c.lr, c.weight_decay, 0.0)?;
        check_beta("sophia", "betas.0", c.betas.0)?;
        check_beta("sophia", "betas.1", c.betas.1)?;
        check(c.rho >= 0.0, "sophia", "rho", || format!("must be >= 0, got {}", c.rho))?;
        check(c.k >= 1, "sophia", "k", || format!("must be at least 1, got {}", c.k))?;
        Ok(Self { c })
    }
}

impl<T: Float> UpdateRule<T> for Sophia {
    fn name(&self) -> &'static str {
        "sophia"
    }

    fn default_lr(&self) -> f64 {
        self.c.lr
    }

    fn slots(&self, _shape: &[usize]) -> &'static [&'static str] {
        &["exp_avg", "hessian"]
    }

    fn update(&self, lr: f64, param: &mut [T], grad: &[T], state: &mut State<T>) {
        let c = self.c;
        state.step += 1;
        let (b1, one_b1) = (T::of(c.betas.0), T::of(1.0 - c.betas.0));
        let (decay, rho, eps, lr) = (T::of(1.0 - lr * c.weight_decay), T::of(c.rho), T::of(SOPHIA_EPS), T::of(lr));
        let [m, h] = state.slots_mut::<2>();
        fused(param, grad, [m, h], |p, g, [m, h]| {
            *p *= decay;
            *m = b1 * *m + one_b1 * g;
            let ratio = *m / (rho * *h).max(eps);
            *p -= lr * ratio.max(-T::one()).min(T::one());
        });
    }

    fn curvature_request(&self) -> Option<crate::CurvatureRequest> {
        Some(crate::CurvatureRequest { kind: crate::CurvatureKind::HessianDiagonal, every: self.c.k })
    }

    fn observe_curvature(&self, state: &mut State<T>, estimate: crate::Estimate<'_, T>) {
        let crate::Estimate::HessianDiagonal(estimate) = estimate else { return };
        let (b2, one_b2) = (T::of(self.c.betas.1), T::of(1.0 - self.c.betas.1));
        let [_, h] = state.slots_mut::<2>();
        h.iter_mut().zip(estimate).for_each(|(h, &e)| *h = b2 * *h + one_b2 * e);
    }

    fn momentum(&self) -> Option<f64> {
        Some(self.c.betas.0)
    }

    fn set_momentum(&mut self, momentum: f64) -> bool {
        self.c.betas.0 = momentum;
        true
    }
}
