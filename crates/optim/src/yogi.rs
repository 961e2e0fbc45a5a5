//! Yogi (Zaheer et al., 2018, "Adaptive Methods for Nonconvex
//! Optimization"): Adam whose second moment moves by a signed additive
//! step, as Optax's `yogi`.

use crate::error::{Result, check_beta, check_common};
use crate::platform::{Float, filled_vec};
use crate::rule::{OptaxMoments, State, UpdateRule, fused, jnp_sign};

/// The hyper-parameters of [`Yogi`]: Optax's defaults, PyTorch's key
/// names (`betas` for `b1`, `b2`). Optax has no default rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct YogiConfig {
    /// Learning rate η.
    pub lr: f64,
    /// (β₁, β₂) = (0.9, 0.999).
    pub betas: (f64, f64),
    /// ε (1e-3), added to √v̂.
    pub eps: f64,
}

impl YogiConfig {
    /// Optax's defaults at rate `lr`.
    pub fn with_lr(lr: f64) -> Self {
        Self { lr, betas: (0.9, 0.999), eps: 1e-3 }
    }
}

/// The value both moments start at (Optax's `initial_accumulator_value`).
const INITIAL: f64 = 1e-6;

/// Yogi as `optax.yogi` (`scale_by_yogi`, `scale_by_learning_rate`),
/// operation for operation: m ← (1 − β₁)g + β₁m;
/// v ← v − ((1 − β₂)·sign(v − g²))·g²; m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ);
/// θ ← θ + (−η)·m̂/(√v̂ + ε). Both moments start at 10⁻⁶. Where Adam's v
/// forgets a large gradient geometrically, Yogi's moves towards g² by at
/// most (1 − β₂)g² a step, so the effective rate cannot jump up.
///
/// ```
/// use gradus_optim::{Optimizer, Yogi, YogiConfig};
/// let mut opt = Optimizer::new(Yogi::new(YogiConfig::with_lr(0.1)).unwrap());
/// let mut theta = vec![1.0f64];
/// opt.update(0, &mut theta, &[2.0]).unwrap();
/// assert!(theta[0] < 1.0);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Yogi {
    c: YogiConfig,
}

impl Yogi {
    /// Validates `config`.
    ///
    /// # Errors
    /// A negative rate or eps, or a β outside [0, 1).
    pub fn new(config: YogiConfig) -> Result<Self> {
        let c = config;
        check_common("yogi", c.lr, 0.0, c.eps)?;
        check_beta("yogi", "betas.0", c.betas.0)?;
        check_beta("yogi", "betas.1", c.betas.1)?;
        Ok(Self { c })
    }
}

impl<T: Float> UpdateRule<T> for Yogi {
    fn name(&self) -> &'static str {
        "yogi"
    }

    fn default_lr(&self) -> f64 {
        self.c.lr
    }

    fn slots(&self, _shape: &[usize]) -> &'static [&'static str] {
        &["mu", "nu"]
    }

    fn init(&self, _lr: f64, shape: &[usize]) -> State<T> {
        let len = shape.iter().product();
        let start = || filled_vec(len, T::of(INITIAL));
        State { shape: shape.to_vec(), step: 0, slots: vec![start(), start()], scalars: Vec::new() }
    }

    fn update(&self, lr: f64, param: &mut [T], grad: &[T], state: &mut State<T>) {
        let c = self.c;
        state.step += 1;
        let OptaxMoments { b1, b2: _, one_b1, one_b2, d1, d2 } = OptaxMoments::<T>::at(c.betas, state.step);
        let (eps, neg_lr) = (T::of(c.eps), T::of(-lr));
        let [m, v] = state.slots_mut::<2>();
        fused(param, grad, [m, v], |p, g, [m, v]| {
            *m = one_b1 * g + b1 * *m;
            let g2 = g * g;
            *v = *v - one_b2 * jnp_sign(*v - g2) * g2;
            let u = (*m * d1) / ((*v * d2).sqrt() + eps);
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
