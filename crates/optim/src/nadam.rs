//! NAdam (Dozat, 2016): Adam with Nesterov momentum and a momentum-decay
//! schedule.

use crate::WeightDecay;
use crate::error::{Result, check, check_beta, check_common};
use crate::platform::Float;
use crate::platform::filled_vec;
use crate::rule::{State, UpdateRule, addcmul, effective_grad, fused, lerp};

/// The hyper-parameters of [`Nadam`], PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NadamConfig {
    /// Learning rate (2e-3).
    pub lr: f64,
    /// (ρ₁, ρ₂) = (0.9, 0.999).
    pub betas: (f64, f64),
    /// δ (1e-8).
    pub eps: f64,
    /// Weight decay λ and how it enters ([`WeightDecay::L2`]`(0.0)`: none).
    pub weight_decay: WeightDecay,
    /// ψ in μ_t = ρ₁(1 − ½·0.96^(tψ)) (4e-3).
    pub momentum_decay: f64,
    /// Ascend instead (false).
    pub maximize: bool,
}

impl Default for NadamConfig {
    fn default() -> Self {
        Self {
            lr: 2e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: WeightDecay::L2(0.0),
            momentum_decay: 4e-3,
            maximize: false,
        }
    }
}

/// NAdam as `torch.optim.NAdam`: μ_t = ρ₁(1 − ½·0.96^(tψ)), Π_t = Π μ_i;
/// θ ← θ − η(1 − μ_t)/(1 − Π_t)·g/d − η·μ_{t+1}/(1 − Π_t·μ_{t+1})·s/d with
/// d = √(r/(1 − ρ₂ᵗ)) + δ.
#[derive(Clone, Debug, PartialEq)]
pub struct Nadam {
    c: NadamConfig,
}

impl Nadam {
    /// Validates `config`.
    ///
    /// # Errors
    /// A negative rate, eps, weight decay or momentum decay, or a β outside [0, 1).
    pub fn new(config: NadamConfig) -> Result<Self> {
        let c = config;
        check_common("nadam", c.lr, c.weight_decay.rate(), c.eps)?;
        check_beta("nadam", "betas.0", c.betas.0)?;
        check_beta("nadam", "betas.1", c.betas.1)?;
        check(c.momentum_decay >= 0.0, "nadam", "momentum_decay", || {
            format!("must be >= 0, got {}", c.momentum_decay)
        })?;
        Ok(Self { c })
    }
}

impl<T: Float> UpdateRule<T> for Nadam {
    fn name(&self) -> &'static str {
        "nadam"
    }

    fn default_lr(&self) -> f64 {
        self.c.lr
    }

    fn slots(&self, _shape: &[usize]) -> &'static [&'static str] {
        &["exp_avg", "exp_avg_sq"]
    }

    fn scalars(&self, _shape: &[usize]) -> &'static [&'static str] {
        &["mu_product"]
    }

    fn init(&self, _lr: f64, shape: &[usize]) -> State<T> {
        let len = shape.iter().product();
        State {
            shape: shape.to_vec(),
            step: 0,
            slots: vec![filled_vec(len, T::zero()), filled_vec(len, T::zero())],
            scalars: vec![1.0],
        }
    }

    fn update(&self, lr: f64, param: &mut [T], grad: &[T], state: &mut State<T>) {
        let c = self.c;
        state.step += 1;
        let t = state.step as f64;
        let (b1, b2) = c.betas;
        let bc2 = T::of(1.0 - b2.powf(t));
        let mu = b1 * (1.0 - 0.5 * 0.96f64.powf(t * c.momentum_decay));
        let mu_next = b1 * (1.0 - 0.5 * 0.96f64.powf((t + 1.0) * c.momentum_decay));
        let product = state.scalars[0] * mu;
        state.scalars[0] = product;
        let coef_g = T::of(-lr * (1.0 - mu) / (1.0 - product));
        let coef_s = T::of(-lr * mu_next / (1.0 - product * mu_next));
        let (one_b1, b2t, one_b2, eps) = (T::of(1.0 - b1), T::of(b2), T::of(1.0 - b2), T::of(c.eps));
        let (coupled, decoupled) = c.weight_decay.split::<T>(lr);
        let [s, r] = state.slots_mut::<2>();
        fused(param, grad, [s, r], |p, g, [s, r]| {
            if let Some(decay) = decoupled {
                *p *= decay;
            }
            let g = effective_grad(g, *p, c.maximize, coupled);
            *s = lerp(*s, g, one_b1);
            *r = addcmul(b2t * *r, one_b2, g, g);
            let d = (*r / bc2).sqrt() + eps;
            // torch.addcdiv's order: (value·t1)/t2.
            *p += coef_g * g / d;
            *p += coef_s * *s / d;
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
