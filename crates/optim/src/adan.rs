//! Adan (Xie et al., 2022, "Adan: Adaptive Nesterov Momentum Algorithm for
//! Faster Optimizing Deep Models"), as Optax's `adan`.

use crate::error::{Result, check, check_beta, check_common};
use crate::platform::Float;
use crate::rule::{State, UpdateRule, fused, optax_debias};

/// The hyper-parameters of [`Adan`]: Optax's defaults, PyTorch's key
/// names (`betas` for `b1`, `b2`, `b3`). Optax has no default rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdanConfig {
    /// Learning rate η.
    pub lr: f64,
    /// (β₁, β₂, β₃) = (0.98, 0.92, 0.99): the decays of the gradient's,
    /// its difference's and the squared Nesterov gradient's averages.
    pub betas: (f64, f64, f64),
    /// ε (1e-8), added to √n̂.
    pub eps: f64,
    /// ε inside the root (1e-8).
    pub eps_root: f64,
    /// λ (0), added to the step as λθ.
    pub weight_decay: f64,
}

impl AdanConfig {
    /// Optax's defaults at rate `lr`.
    pub fn with_lr(lr: f64) -> Self {
        Self { lr, betas: (0.98, 0.92, 0.99), eps: 1e-8, eps_root: 1e-8, weight_decay: 0.0 }
    }
}

/// Adan as `optax.adan` (`scale_by_adan`, `add_decayed_weights`,
/// `scale_by_learning_rate`), operation for operation, with Δ = g − g_prev
/// (0 at the first step): m ← (1 − β₁)g + β₁m; v ← (1 − β₂)Δ + β₂v;
/// n ← (1 − β₃)(g + (1 − β₂)Δ)² + β₃n; u = (m·d₁ + (1 − β₂)·v·d₂)/(√(n·d₃ +
/// ε_root) + ε) + λθ with dᵢ = 1/(1 − βᵢᵗ); θ ← θ + (−η)·u.
///
/// ```
/// use gradus_optim::{Adan, AdanConfig, Optimizer};
/// let mut opt = Optimizer::new(Adan::new(AdanConfig::with_lr(0.1)).unwrap());
/// let mut theta = vec![1.0f64];
/// opt.update(0, &mut theta, &[2.0]).unwrap();
/// // The first step is about η·sign(g): m̂ = g, n̂ = g², no difference yet.
/// assert!((theta[0] - 0.9).abs() < 1e-6);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Adan {
    c: AdanConfig,
}

impl Adan {
    /// Validates `config`.
    ///
    /// # Errors
    /// A negative rate, eps, eps_root or weight decay, or a β outside [0, 1).
    pub fn new(config: AdanConfig) -> Result<Self> {
        let c = config;
        check_common("adan", c.lr, c.weight_decay, c.eps)?;
        check(c.eps_root >= 0.0, "adan", "eps_root", || format!("must be >= 0, got {}", c.eps_root))?;
        check_beta("adan", "betas.0", c.betas.0)?;
        check_beta("adan", "betas.1", c.betas.1)?;
        check_beta("adan", "betas.2", c.betas.2)?;
        Ok(Self { c })
    }
}

impl<T: Float> UpdateRule<T> for Adan {
    fn name(&self) -> &'static str {
        "adan"
    }

    fn default_lr(&self) -> f64 {
        self.c.lr
    }

    fn slots(&self, _shape: &[usize]) -> &'static [&'static str] {
        &["m", "v", "n", "g"]
    }

    fn update(&self, lr: f64, param: &mut [T], grad: &[T], state: &mut State<T>) {
        let c = self.c;
        let first = state.step == 0;
        state.step += 1;
        let (b1, b2, b3) = (c.betas.0, c.betas.1, c.betas.2);
        let debias = |beta: f64| optax_debias::<T>(beta, state.step);
        let (d1, d2, d3) = (debias(b1), debias(b2), debias(b3));
        let (one_b1, one_b2, one_b3) = (T::of(1.0 - b1), T::of(1.0 - b2), T::of(1.0 - b3));
        let (b1, b2, b3) = (T::of(b1), T::of(b2), T::of(b3));
        let (eps, eps_root, wd, neg_lr) = (T::of(c.eps), T::of(c.eps_root), T::of(c.weight_decay), T::of(-lr));
        let [m, v, n, g_prev] = state.slots_mut::<4>();
        fused(param, grad, [m, v, n, g_prev], |p, g, [m, v, n, g_prev]| {
            let diff = if first { T::zero() } else { g - *g_prev };
            *m = one_b1 * g + b1 * *m;
            *v = one_b2 * diff + b2 * *v;
            let sq = g + one_b2 * diff;
            *n = one_b3 * (sq * sq) + b3 * *n;
            *g_prev = g;
            let u = (*m * d1 + one_b2 * (*v * d2)) / ((*n * d3 + eps_root).sqrt() + eps);
            let u = if c.weight_decay == 0.0 { u } else { u + wd * *p };
            *p += neg_lr * u;
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
