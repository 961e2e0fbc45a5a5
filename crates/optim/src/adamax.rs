//! Adamax (Kingma & Ba, 2015, §7): Adam with the infinity norm.

use crate::error::{Result, check_beta, check_common};
use crate::platform::Float;
use crate::rule::{State, UpdateRule, effective_grad, fused, lerp};

/// The hyper-parameters of [`Adamax`], PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamaxConfig {
    /// Learning rate (2e-3).
    pub lr: f64,
    /// (ρ₁, ρ₂) = (0.9, 0.999).
    pub betas: (f64, f64),
    /// δ (1e-8).
    pub eps: f64,
    /// L2 penalty (0).
    pub weight_decay: f64,
    /// Ascend instead (false).
    pub maximize: bool,
}

impl Default for AdamaxConfig {
    fn default() -> Self {
        Self { lr: 2e-3, betas: (0.9, 0.999), eps: 1e-8, weight_decay: 0.0, maximize: false }
    }
}

/// Adamax as `torch.optim.Adamax`: s ← ρ₁s + (1 − ρ₁)g;
/// u ← max(ρ₂u, |g| + δ); θ ← θ − η/(1 − ρ₁ᵗ)·s/u.
#[derive(Clone, Debug, PartialEq)]
pub struct Adamax {
    c: AdamaxConfig,
}

impl Adamax {
    /// Validates `config`.
    ///
    /// # Errors
    /// A negative rate, eps or weight decay, or a β outside [0, 1).
    pub fn new(config: AdamaxConfig) -> Result<Self> {
        let c = config;
        check_common("adamax", c.lr, c.weight_decay, c.eps)?;
        check_beta("adamax", "betas.0", c.betas.0)?;
        check_beta("adamax", "betas.1", c.betas.1)?;
        Ok(Self { c })
    }
}

impl<T: Float> UpdateRule<T> for Adamax {
    fn name(&self) -> &'static str {
        "adamax"
    }

    fn default_lr(&self) -> f64 {
        self.c.lr
    }

    fn slots(&self, _shape: &[usize]) -> &'static [&'static str] {
        &["exp_avg", "exp_inf"]
    }

    fn update(&self, lr: f64, param: &mut [T], grad: &[T], state: &mut State<T>) {
        let c = self.c;
        state.step += 1;
        let clr = T::of(lr / (1.0 - c.betas.0.powf(state.step as f64)));
        let (one_b1, b2, eps, wd) = (T::of(1.0 - c.betas.0), T::of(c.betas.1), T::of(c.eps), T::of(c.weight_decay));
        let [s, u] = state.slots_mut::<2>();
        fused(param, grad, [s, u], |p, g, [s, u]| {
            let g = effective_grad(g, *p, c.maximize, wd);
            *s = lerp(*s, g, one_b1);
            *u = (*u * b2).max(g.abs() + eps);
            *p -= clr * (*s / *u);
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
