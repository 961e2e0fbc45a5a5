//! RAdam (Liu et al., 2020): Adam with the variance of the adaptive rate
//! rectified.

use crate::WeightDecay;
use crate::error::{Result, check_beta, check_common};
use crate::platform::Float;
use crate::rule::{State, UpdateRule, addcmul, effective_grad, fused, lerp};

/// The hyper-parameters of [`Radam`], PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RadamConfig {
    /// Learning rate (1e-3).
    pub lr: f64,
    /// (ρ₁, ρ₂) = (0.9, 0.999).
    pub betas: (f64, f64),
    /// δ (1e-8).
    pub eps: f64,
    /// Weight decay λ and how it enters ([`WeightDecay::L2`]`(0.0)`: none).
    pub weight_decay: WeightDecay,
    /// Ascend instead (false).
    pub maximize: bool,
}

impl Default for RadamConfig {
    fn default() -> Self {
        Self { lr: 1e-3, betas: (0.9, 0.999), eps: 1e-8, weight_decay: WeightDecay::L2(0.0), maximize: false }
    }
}

/// RAdam as `torch.optim.RAdam`: with ρ_∞ = 2/(1 − ρ₂) − 1 and
/// ρ_t = ρ_∞ − 2tρ₂ᵗ/(1 − ρ₂ᵗ), the step is η·ŝ·r_t·√(1 − ρ₂ᵗ)/(√r + δ)
/// with the rectifier r_t = √((ρ_t − 4)(ρ_t − 2)ρ_∞/((ρ_∞ − 4)(ρ_∞ − 2)ρ_t))
/// once ρ_t > 5, and plain momentum η·ŝ before.
#[derive(Clone, Debug, PartialEq)]
pub struct Radam {
    c: RadamConfig,
}

impl Radam {
    /// Validates `config`.
    ///
    /// # Errors
    /// A negative rate, eps or weight decay, or a β outside [0, 1).
    pub fn new(config: RadamConfig) -> Result<Self> {
        let c = config;
        check_common("radam", c.lr, c.weight_decay.rate(), c.eps)?;
        check_beta("radam", "betas.0", c.betas.0)?;
        check_beta("radam", "betas.1", c.betas.1)?;
        Ok(Self { c })
    }
}

impl<T: Float> UpdateRule<T> for Radam {
    fn name(&self) -> &'static str {
        "radam"
    }

    fn default_lr(&self) -> f64 {
        self.c.lr
    }

    fn slots(&self, _shape: &[usize]) -> &'static [&'static str] {
        &["exp_avg", "exp_avg_sq"]
    }

    fn update(&self, lr: f64, param: &mut [T], grad: &[T], state: &mut State<T>) {
        let c = self.c;
        state.step += 1;
        let t = state.step as f64;
        let (b1, b2) = c.betas;
        let bc1 = 1.0 - b1.powf(t);
        let bc2 = 1.0 - b2.powf(t);
        let rho_inf = 2.0 / (1.0 - b2) - 1.0;
        let rho_t = rho_inf - 2.0 * t * b2.powf(t) / bc2;
        let rect = (rho_t > 5.0)
            .then(|| ((rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t)).sqrt());
        let (one_b1, b2t, one_b2, eps) = (T::of(1.0 - b1), T::of(b2), T::of(1.0 - b2), T::of(c.eps));
        let (lr_t, bc1_t, bc2_sqrt) = (T::of(lr), T::of(bc1), T::of(bc2.sqrt()));
        let (coupled, decoupled) = c.weight_decay.split::<T>(lr);
        let [s, r] = state.slots_mut::<2>();
        fused(param, grad, [s, r], |p, g, [s, r]| {
            if let Some(decay) = decoupled {
                *p *= decay;
            }
            let g = effective_grad(g, *p, c.maximize, coupled);
            *s = lerp(*s, g, one_b1);
            *r = addcmul(b2t * *r, one_b2, g, g);
            let corrected = *s / bc1_t;
            match rect {
                Some(rect) => {
                    let adaptive = bc2_sqrt / (r.sqrt() + eps);
                    *p += corrected * lr_t * adaptive * T::of(rect) * -T::one();
                }
                None => *p += corrected * lr_t * -T::one(),
            }
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
