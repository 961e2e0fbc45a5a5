//! RMSProp (Hinton, 2012): PyTorch's form (centred, momentum) and the
//! textbook form with δ inside the square root.

use crate::error::{Result, check, check_common};
use crate::platform::Float;
use crate::rule::{State, UpdateRule, addcmul, effective_grad, fused, lerp};

/// The hyper-parameters of [`Rmsprop`], PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RmspropConfig {
    /// Learning rate (1e-2).
    pub lr: f64,
    /// ρ, the decay of the squared-gradient average (0.99).
    pub alpha: f64,
    /// δ (1e-8).
    pub eps: f64,
    /// L2 penalty (0).
    pub weight_decay: f64,
    /// Momentum on the scaled step (0).
    pub momentum: f64,
    /// Divide by the estimated standard deviation, not the RMS (false).
    pub centered: bool,
    /// Ascend instead (false).
    pub maximize: bool,
    /// The textbook form θ ← θ − ε g/√(δ + r), with δ
    /// inside the root; off for PyTorch's g/(√r + δ).
    pub textbook: bool,
}

impl Default for RmspropConfig {
    fn default() -> Self {
        Self {
            lr: 1e-2,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
            maximize: false,
            textbook: false,
        }
    }
}

/// RMSProp as `torch.optim.RMSprop`: r ← ρr + (1 − ρ)g²; with `centered`,
/// ḡ ← ρḡ + (1 − ρ)g and the denominator √(r − ḡ²) + δ, else √r + δ; with
/// momentum b ← μb + g/denominator, θ ← θ − ηb, else θ ← θ − ηg/denominator.
/// With `textbook`, the denominator is √(δ + r) (resp. √(δ + r − ḡ²)).
#[derive(Clone, Debug, PartialEq)]
pub struct Rmsprop {
    c: RmspropConfig,
}

impl Rmsprop {
    /// Validates `config`.
    ///
    /// # Errors
    /// A negative rate, eps, weight decay or momentum, or α outside [0, 1].
    pub fn new(config: RmspropConfig) -> Result<Self> {
        let c = config;
        check_common("rmsprop", c.lr, c.weight_decay, c.eps)?;
        check((0.0..=1.0).contains(&c.alpha), "rmsprop", "alpha", || format!("must be in [0, 1], got {}", c.alpha))?;
        check(c.momentum >= 0.0, "rmsprop", "momentum", || format!("must be >= 0, got {}", c.momentum))?;
        Ok(Self { c })
    }
}

impl<T: Float> UpdateRule<T> for Rmsprop {
    fn name(&self) -> &'static str {
        "rmsprop"
    }

    fn default_lr(&self) -> f64 {
        self.c.lr
    }

    fn slots(&self, _shape: &[usize]) -> &'static [&'static str] {
        match (self.c.centered, self.c.momentum > 0.0) {
            (false, false) => &["square_avg"],
            (false, true) => &["square_avg", "momentum_buffer"],
            (true, false) => &["square_avg", "grad_avg"],
            (true, true) => &["square_avg", "grad_avg", "momentum_buffer"],
        }
    }

    fn update(&self, lr: f64, param: &mut [T], grad: &[T], state: &mut State<T>) {
        let c = self.c;
        state.step += 1;
        let (lr, alpha, eps, wd, mu) =
            (T::of(lr), T::of(c.alpha), T::of(c.eps), T::of(c.weight_decay), T::of(c.momentum));
        let one_minus = T::one() - alpha;
        let denom = move |r: T, mean: T| {
            let var = if c.centered { r - mean * mean } else { r };
            if c.textbook { (eps + var).sqrt() } else { var.sqrt() + eps }
        };
        // The slots are those `slots` names for this configuration.
        match (c.centered, c.momentum > 0.0) {
            (false, false) => fused(param, grad, state.slots_mut::<1>(), |p, g, [r]| {
                let g = effective_grad(g, *p, c.maximize, wd);
                *r = addcmul(alpha * *r, one_minus, g, g);
                *p -= lr * (g / denom(*r, T::zero()));
            }),
            (false, true) => fused(param, grad, state.slots_mut::<2>(), |p, g, [r, b]| {
                let g = effective_grad(g, *p, c.maximize, wd);
                *r = addcmul(alpha * *r, one_minus, g, g);
                *b = mu * *b + g / denom(*r, T::zero());
                *p -= lr * *b;
            }),
            (true, false) => fused(param, grad, state.slots_mut::<2>(), |p, g, [r, m]| {
                let g = effective_grad(g, *p, c.maximize, wd);
                *r = addcmul(alpha * *r, one_minus, g, g);
                *m = lerp(*m, g, one_minus);
                *p -= lr * (g / denom(*r, *m));
            }),
            (true, true) => fused(param, grad, state.slots_mut::<3>(), |p, g, [r, m, b]| {
                let g = effective_grad(g, *p, c.maximize, wd);
                *r = addcmul(alpha * *r, one_minus, g, g);
                *m = lerp(*m, g, one_minus);
                *b = mu * *b + g / denom(*r, *m);
                *p -= lr * *b;
            }),
        }
    }

    fn momentum(&self) -> Option<f64> {
        Some(self.c.momentum)
    }
}
