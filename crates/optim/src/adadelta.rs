//! Adadelta (Zeiler, 2012).

use crate::error::{Result, check, check_common};
use crate::platform::Float;
use crate::rule::{State, UpdateRule, addcmul, effective_grad, fused};

/// The hyper-parameters of [`Adadelta`], PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdadeltaConfig {
    /// Scale of the step (1.0).
    pub lr: f64,
    /// ρ (0.9).
    pub rho: f64,
    /// δ (1e-6).
    pub eps: f64,
    /// L2 penalty (0).
    pub weight_decay: f64,
    /// Ascend instead (false).
    pub maximize: bool,
}

impl Default for AdadeltaConfig {
    fn default() -> Self {
        Self { lr: 1.0, rho: 0.9, eps: 1e-6, weight_decay: 0.0, maximize: false }
    }
}

/// Adadelta as `torch.optim.Adadelta`: `E[g²] ← ρE[g²] +
/// (1 − ρ)g²`; `Δ = √(E[Δ²] + δ)/√(E[g²] + δ)·g`; `E[Δ²] ← ρE[Δ²] + (1 − ρ)Δ²`;
/// `θ ← θ − ηΔ`.
#[derive(Clone, Debug, PartialEq)]
pub struct Adadelta {
    c: AdadeltaConfig,
}

impl Adadelta {
    /// Validates `config`.
    ///
    /// # Errors
    /// A negative rate, eps or weight decay, or ρ outside [0, 1].
    pub fn new(config: AdadeltaConfig) -> Result<Self> {
        let c = config;
        check_common("adadelta", c.lr, c.weight_decay, c.eps)?;
        check((0.0..=1.0).contains(&c.rho), "adadelta", "rho", || format!("must be in [0, 1], got {}", c.rho))?;
        Ok(Self { c })
    }
}

impl<T: Float> UpdateRule<T> for Adadelta {
    fn name(&self) -> &'static str {
        "adadelta"
    }

    fn default_lr(&self) -> f64 {
        self.c.lr
    }

    fn slots(&self, _shape: &[usize]) -> &'static [&'static str] {
        &["square_avg", "acc_delta"]
    }

    fn update(&self, lr: f64, param: &mut [T], grad: &[T], state: &mut State<T>) {
        let c = self.c;
        state.step += 1;
        let (lr, rho, eps, wd) = (T::of(lr), T::of(c.rho), T::of(c.eps), T::of(c.weight_decay));
        let [sq, acc] = state.slots_mut::<2>();
        fused(param, grad, [sq, acc], |p, g, [sq, acc]| {
            let g = effective_grad(g, *p, c.maximize, wd);
            *sq = addcmul(rho * *sq, T::one() - rho, g, g);
            let std = (*sq + eps).sqrt();
            let delta = (*acc + eps).sqrt() / std * g;
            *acc = rho * *acc + (T::one() - rho) * delta * delta;
            *p -= lr * delta;
        });
    }
}
