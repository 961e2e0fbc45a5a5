//! Adam (Kingma & Ba, 2015), AMSGrad (Reddi et al., 2018) and AdamW
//! (Loshchilov & Hutter, 2019).

use crate::WeightDecay;
use crate::error::{Result, check_beta, check_common};
use crate::platform::Float;
use crate::rule::{State, UpdateRule, addcmul, effective_grad, fused, lerp};

/// The hyper-parameters of [`Adam`], PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig {
    /// Learning rate (1e-3).
    pub lr: f64,
    /// (ρ₁, ρ₂) = (0.9, 0.999).
    pub betas: (f64, f64),
    /// δ (1e-8).
    pub eps: f64,
    /// Weight decay λ and how it enters ([`WeightDecay::L2`]`(0.0)`: none).
    pub weight_decay: WeightDecay,
    /// Keep the maximum of the second moment (false).
    pub amsgrad: bool,
    /// Ascend instead (false).
    pub maximize: bool,
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: WeightDecay::L2(0.0),
            amsgrad: false,
            maximize: false,
        }
    }
}

impl AdamConfig {
    /// AdamW's defaults: decoupled weight decay 1e-2.
    pub fn adamw() -> Self {
        Self { weight_decay: WeightDecay::Decoupled(1e-2), ..Self::default() }
    }
}

/// Adam as `torch.optim.Adam` / `AdamW`:
/// s ← ρ₁s + (1 − ρ₁)g; r ← ρ₂r + (1 − ρ₂)g²;
/// θ ← θ − (η/(1 − ρ₁ᵗ))·s/(√r/√(1 − ρ₂ᵗ) + δ), with r replaced by its
/// running maximum under AMSGrad, and θ ← θ(1 − ηλ) first when the weight
/// decay is decoupled (AdamW). One fused pass over (θ, g, s, r).
#[derive(Clone, Debug, PartialEq)]
pub struct Adam {
    c: AdamConfig,
    name: &'static str,
}

impl Adam {
    /// Validates `config`.
    ///
    /// # Errors
    /// A negative rate, eps or weight decay, or a β outside [0, 1).
    pub fn new(config: AdamConfig) -> Result<Self> {
        Self::named("adam", config)
    }

    /// AdamW: `config` with decoupled weight decay.
    ///
    /// # Errors
    /// As [`Adam::new`].
    pub fn adamw(config: AdamConfig) -> Result<Self> {
        Self::named("adamw", AdamConfig { weight_decay: WeightDecay::Decoupled(config.weight_decay.rate()), ..config })
    }

    fn named(name: &'static str, c: AdamConfig) -> Result<Self> {
        check_common(name, c.lr, c.weight_decay.rate(), c.eps)?;
        check_beta(name, "betas.0", c.betas.0)?;
        check_beta(name, "betas.1", c.betas.1)?;
        Ok(Self { c, name })
    }
}

impl<T: Float> UpdateRule<T> for Adam {
    fn name(&self) -> &'static str {
        self.name
    }

    fn default_lr(&self) -> f64 {
        self.c.lr
    }

    fn slots(&self, _shape: &[usize]) -> &'static [&'static str] {
        if self.c.amsgrad { &["exp_avg", "exp_avg_sq", "max_exp_avg_sq"] } else { &["exp_avg", "exp_avg_sq"] }
    }

    fn update(&self, lr: f64, param: &mut [T], grad: &[T], state: &mut State<T>) {
        let c = self.c;
        state.step += 1;
        let t = state.step as f64;
        let (b1, b2) = c.betas;
        let step_size = T::of(lr / (1.0 - b1.powf(t)));
        let bc2_sqrt = T::of((1.0 - b2.powf(t)).sqrt());
        let (one_b1, b2t, one_b2, eps) = (T::of(1.0 - b1), T::of(b2), T::of(1.0 - b2), T::of(c.eps));
        let (coupled, decoupled) = c.weight_decay.split::<T>(lr);
        let moments = |p: &mut T, g: T, s: &mut T, r: &mut T| {
            if let Some(decay) = decoupled {
                *p *= decay;
            }
            let g = effective_grad(g, *p, c.maximize, coupled);
            *s = lerp(*s, g, one_b1);
            *r = addcmul(b2t * *r, one_b2, g, g);
        };
        if c.amsgrad {
            fused(param, grad, state.slots_mut::<3>(), |p, g, [s, r, m]| {
                moments(p, g, s, r);
                *m = m.max(*r);
                *p += -step_size * *s / (m.sqrt() / bc2_sqrt + eps);
            });
        } else {
            fused(param, grad, state.slots_mut::<2>(), |p, g, [s, r]| {
                moments(p, g, s, r);
                *p += -step_size * *s / (r.sqrt() / bc2_sqrt + eps);
            });
        }
    }

    fn momentum(&self) -> Option<f64> {
        Some(self.c.betas.0)
    }

    fn set_momentum(&mut self, momentum: f64) -> bool {
        self.c.betas.0 = momentum;
        true
    }
}
