//! SGD in PyTorch's form: momentum, dampening, Nesterov, weight decay, maximize.

use crate::error::{Result, check, check_common};
use crate::platform::Float;
use crate::rule::{State, UpdateRule, effective_grad, fused};

/// The hyper-parameters of [`Sgd`], PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdConfig {
    /// Learning rate (PyTorch 1e-3).
    pub lr: f64,
    /// μ (0: plain SGD).
    pub momentum: f64,
    /// Dampening of the gradient in the momentum buffer (0).
    pub dampening: f64,
    /// L2 penalty added to the gradient (0).
    pub weight_decay: f64,
    /// Nesterov momentum in the framework form (false).
    pub nesterov: bool,
    /// Ascend instead (false).
    pub maximize: bool,
}

impl Default for SgdConfig {
    fn default() -> Self {
        Self { lr: 1e-3, momentum: 0.0, dampening: 0.0, weight_decay: 0.0, nesterov: false, maximize: false }
    }
}

/// Stochastic gradient descent as `torch.optim.SGD` (the
/// framework form): g ← ∇ + λθ; b ← μb + (1 − dampening)g (b = g at the
/// first step); g ← g + μb with Nesterov, else b; θ ← θ − ηg.
#[derive(Clone, Debug, PartialEq)]
pub struct Sgd {
    c: SgdConfig,
}

impl Sgd {
    /// Validates `config`.
    ///
    /// # Errors
    /// A negative rate, momentum, dampening or weight decay, or Nesterov
    /// without momentum or with dampening.
    pub fn new(config: SgdConfig) -> Result<Self> {
        let c = config;
        check_common("sgd", c.lr, c.weight_decay, 0.0)?;
        check(c.momentum >= 0.0, "sgd", "momentum", || format!("must be >= 0, got {}", c.momentum))?;
        check(c.dampening >= 0.0, "sgd", "dampening", || format!("must be >= 0, got {}", c.dampening))?;
        check(!c.nesterov || (c.momentum > 0.0 && c.dampening == 0.0), "sgd", "nesterov", || {
            "requires momentum > 0 and dampening = 0".into()
        })?;
        Ok(Self { c })
    }
}

impl<T: Float> UpdateRule<T> for Sgd {
    fn name(&self) -> &'static str {
        "sgd"
    }

    fn default_lr(&self) -> f64 {
        self.c.lr
    }

    fn slots(&self, _shape: &[usize]) -> &'static [&'static str] {
        if self.c.momentum != 0.0 { &["momentum_buffer"] } else { &[] }
    }

    fn update(&self, lr: f64, param: &mut [T], grad: &[T], state: &mut State<T>) {
        let c = self.c;
        let (lr, wd, mu, damp) = (T::of(lr), T::of(c.weight_decay), T::of(c.momentum), T::of(1.0 - c.dampening));
        state.step += 1;
        if c.momentum == 0.0 {
            fused(param, grad, [], |p, g, []| *p -= lr * effective_grad(g, *p, c.maximize, wd));
            return;
        }
        let first = state.step == 1;
        fused(param, grad, state.slots_mut::<1>(), |p, g, [b]| {
            let g = effective_grad(g, *p, c.maximize, wd);
            *b = if first { g } else { mu * *b + damp * g };
            let d = if c.nesterov { g + mu * *b } else { *b };
            *p -= lr * d;
        });
    }

    fn momentum(&self) -> Option<f64> {
        Some(self.c.momentum)
    }

    fn set_momentum(&mut self, momentum: f64) -> bool {
        self.c.momentum = momentum;
        true
    }
}
