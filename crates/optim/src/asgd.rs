//! Averaged SGD (Polyak & Juditsky, 1992).

use crate::error::{Result, check, check_common};
use crate::platform::Float;
use crate::platform::filled_vec;
use crate::rule::{State, UpdateRule, effective_grad, fused};

/// The hyper-parameters of [`Asgd`], PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AsgdConfig {
    /// Learning rate (1e-2).
    pub lr: f64,
    /// Decay term λ (1e-4).
    pub lambd: f64,
    /// Power of the rate decay (0.75).
    pub alpha: f64,
    /// The step from which averaging starts (1e6).
    pub t0: f64,
    /// L2 penalty (0).
    pub weight_decay: f64,
    /// Ascend instead (false).
    pub maximize: bool,
}

impl Default for AsgdConfig {
    fn default() -> Self {
        Self { lr: 1e-2, lambd: 1e-4, alpha: 0.75, t0: 1e6, weight_decay: 0.0, maximize: false }
    }
}

/// ASGD as `torch.optim.ASGD`: θ ← θ(1 − λη_t) − η_t·g; the average
/// ā ← ā + μ_t(θ − ā) (a copy of θ while μ_t = 1); then
/// η_{t+1} = η/(1 + ληt)^α and μ_{t+1} = 1/max(1, t − t₀). The averaged
/// parameters are the `ax` slot.
#[derive(Clone, Debug, PartialEq)]
pub struct Asgd {
    c: AsgdConfig,
}

impl Asgd {
    /// Validates `config`.
    ///
    /// # Errors
    /// A negative rate, λ, α, t₀ or weight decay.
    pub fn new(config: AsgdConfig) -> Result<Self> {
        let c = config;
        check_common("asgd", c.lr, c.weight_decay, 0.0)?;
        check(c.lambd >= 0.0, "asgd", "lambd", || format!("must be >= 0, got {}", c.lambd))?;
        check(c.alpha >= 0.0, "asgd", "alpha", || format!("must be >= 0, got {}", c.alpha))?;
        check(c.t0 >= 0.0, "asgd", "t0", || format!("must be >= 0, got {}", c.t0))?;
        Ok(Self { c })
    }
}

impl<T: Float> UpdateRule<T> for Asgd {
    fn name(&self) -> &'static str {
        "asgd"
    }

    fn default_lr(&self) -> f64 {
        self.c.lr
    }

    fn slots(&self, _shape: &[usize]) -> &'static [&'static str] {
        &["ax"]
    }

    fn scalars(&self, _shape: &[usize]) -> &'static [&'static str] {
        &["eta", "mu"]
    }

    fn init(&self, lr: f64, shape: &[usize]) -> State<T> {
        let len = shape.iter().product();
        State { shape: shape.to_vec(), step: 0, slots: vec![filled_vec(len, T::zero())], scalars: vec![lr, 1.0] }
    }

    fn update(&self, lr: f64, param: &mut [T], grad: &[T], state: &mut State<T>) {
        let c = self.c;
        state.step += 1;
        let (eta, mu) = (state.scalars[0], state.scalars[1]);
        let (eta_t, mu_t, shrink, wd) = (T::of(eta), T::of(mu), T::of(1.0 - c.lambd * eta), T::of(c.weight_decay));
        fused(param, grad, state.slots_mut::<1>(), |p, g, [ax]| {
            let g = effective_grad(g, *p, c.maximize, wd);
            *p *= shrink;
            *p -= eta_t * g;
            *ax = if mu != 1.0 { *ax + (*p - *ax) * mu_t } else { *p };
        });
        let t = state.step as f64;
        state.scalars[0] = lr / (1.0 + c.lambd * lr * t).powf(c.alpha);
        state.scalars[1] = 1.0 / (t - c.t0).max(1.0);
    }
}
