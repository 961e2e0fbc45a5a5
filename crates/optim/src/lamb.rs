//! LAMB (You et al., 2020, "Large Batch Optimization for Deep Learning:
//! Training BERT in 76 minutes"): Adam's step rescaled per parameter by
//! the trust ratio ‖θ‖/‖u‖, as Optax's `lamb`.

use crate::error::{Result, check, check_beta, check_common};
use crate::platform::{Float, pooled_vec, recycle};
use crate::rule::{OptaxMoments, State, UpdateRule, trust_ratio};

/// The hyper-parameters of [`Lamb`]: Optax's defaults, PyTorch's key
/// names (`betas` for `b1`, `b2`). Optax has no default rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LambConfig {
    /// Learning rate η.
    pub lr: f64,
    /// (β₁, β₂) = (0.9, 0.999).
    pub betas: (f64, f64),
    /// ε (1e-6), added to √v̂.
    pub eps: f64,
    /// ε inside the root (0).
    pub eps_root: f64,
    /// λ (0), added to Adam's step as λθ before the trust ratio.
    pub weight_decay: f64,
}

impl LambConfig {
    /// Optax's defaults at rate `lr`.
    pub fn with_lr(lr: f64) -> Self {
        Self { lr, betas: (0.9, 0.999), eps: 1e-6, eps_root: 0.0, weight_decay: 0.0 }
    }
}

/// LAMB as `optax.lamb` (`scale_by_adam`, `add_decayed_weights`,
/// `scale_by_trust_ratio`, `scale_by_learning_rate`), operation for
/// operation: m ← (1 − β₁)g + β₁m; v ← (1 − β₂)g² + β₂v;
/// u = (m·d₁)/(√(v·d₂ + ε_root) + ε) + λθ with dᵢ = 1/(1 − βᵢᵗ);
/// θ ← θ + (−η)·(‖θ‖/‖u‖)·u, the ratio 1 when either norm is 0. Each
/// parameter tensor moves by η‖θ‖ whatever its gradients' scale.
///
/// ```
/// use gradus_optim::{Lamb, LambConfig, Optimizer};
/// let mut opt = Optimizer::new(Lamb::new(LambConfig::with_lr(0.1)).unwrap());
/// let mut theta = vec![3.0f64, 4.0];
/// opt.update(0, &mut theta, &[1.0, 1.0]).unwrap();
/// // ‖θ‖ = 5: the step is 0.1·5 = 0.5 long.
/// let moved = ((theta[0] - 3.0f64).powi(2) + (theta[1] - 4.0f64).powi(2)).sqrt();
/// assert!((moved - 0.5).abs() < 1e-12);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Lamb {
    c: LambConfig,
}

impl Lamb {
    /// Validates `config`.
    ///
    /// # Errors
    /// A negative rate, eps, eps_root or weight decay, or a β outside [0, 1).
    pub fn new(config: LambConfig) -> Result<Self> {
        let c = config;
        check_common("lamb", c.lr, c.weight_decay, c.eps)?;
        check(c.eps_root >= 0.0, "lamb", "eps_root", || format!("must be >= 0, got {}", c.eps_root))?;
        check_beta("lamb", "betas.0", c.betas.0)?;
        check_beta("lamb", "betas.1", c.betas.1)?;
        Ok(Self { c })
    }
}

impl<T: Float> UpdateRule<T> for Lamb {
    fn name(&self) -> &'static str {
        "lamb"
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
        let (eps, eps_root, wd) = (T::of(c.eps), T::of(c.eps_root), T::of(c.weight_decay));
        let [m, v] = state.slots_mut::<2>();
        // Adam's step for every element first: the trust ratio needs its norm.
        let mut u = pooled_vec::<T>(param.len());
        for ((((&g, m), v), &p), u) in grad.iter().zip(m.iter_mut()).zip(v.iter_mut()).zip(param.iter()).zip(&mut u) {
            *m = one_b1 * g + b1 * *m;
            *v = one_b2 * (g * g) + b2 * *v;
            let step = (*m * d1) / ((*v * d2 + eps_root).sqrt() + eps);
            *u = if c.weight_decay == 0.0 { step } else { step + wd * p };
        }
        let ratio = trust_ratio(param, &u, T::one(), T::zero());
        let neg_lr = T::of(-lr);
        for (p, &u) in param.iter_mut().zip(&u) {
            *p += neg_lr * (u * ratio);
        }
        recycle(u);
    }

    fn momentum(&self) -> Option<f64> {
        Some(self.c.betas.0)
    }

    fn set_momentum(&mut self, momentum: f64) -> bool {
        self.c.betas.0 = momentum;
        true
    }
}
