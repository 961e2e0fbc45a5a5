//! Lion (Chen et al., 2023, "Symbolic Discovery of Optimization
//! Algorithms"): the sign of an interpolated momentum, as Optax's `lion`.

use crate::error::{Result, check_beta, check_common};
use crate::platform::Float;
use crate::rule::{State, UpdateRule, fused, jnp_sign};

/// The hyper-parameters of [`Lion`], Optax's defaults with PyTorch's key
/// names (`betas` for Optax's `b1`, `b2`). Optax has no default rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LionConfig {
    /// Learning rate η.
    pub lr: f64,
    /// (β₁, β₂) = (0.9, 0.99): β₁ mixes momentum into the step's sign, β₂
    /// is the momentum's decay.
    pub betas: (f64, f64),
    /// λ (1e-3), multiplied by the rate as Optax does.
    pub weight_decay: f64,
}

impl LionConfig {
    /// Optax's defaults at rate `lr`.
    pub fn with_lr(lr: f64) -> Self {
        Self { lr, betas: (0.9, 0.99), weight_decay: 1e-3 }
    }
}

/// Lion as `optax.lion` (`scale_by_lion`, `add_decayed_weights`,
/// `scale_by_learning_rate`), operation for operation:
/// c = (1 − β₁)g + β₁m; m ← (1 − β₂)g + β₂m; u = sign(c) + λθ;
/// θ ← θ + (−η)·u. Every coordinate moves by η (plus the decay), whatever
/// the gradient's size: only its sign and the momentum's survive.
///
/// ```
/// use gradus_optim::{Lion, LionConfig, Optimizer};
/// let mut opt = Optimizer::new(Lion::new(LionConfig { weight_decay: 0.0, ..LionConfig::with_lr(0.1) }).unwrap());
/// let mut theta = vec![1.0f64, -2.0];
/// opt.update(0, &mut theta, &[3.0, -1e-6]).unwrap();
/// assert_eq!(theta, [0.9, -1.9]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Lion {
    c: LionConfig,
}

impl Lion {
    /// Validates `config`.
    ///
    /// # Errors
    /// A negative rate or weight decay, or a β outside [0, 1).
    pub fn new(config: LionConfig) -> Result<Self> {
        let c = config;
        check_common("lion", c.lr, c.weight_decay, 0.0)?;
        check_beta("lion", "betas.0", c.betas.0)?;
        check_beta("lion", "betas.1", c.betas.1)?;
        Ok(Self { c })
    }
}

impl<T: Float> UpdateRule<T> for Lion {
    fn name(&self) -> &'static str {
        "lion"
    }

    fn default_lr(&self) -> f64 {
        self.c.lr
    }

    fn slots(&self, _shape: &[usize]) -> &'static [&'static str] {
        &["mu"]
    }

    fn update(&self, lr: f64, param: &mut [T], grad: &[T], state: &mut State<T>) {
        let c = self.c;
        state.step += 1;
        let (b1, b2) = (T::of(c.betas.0), T::of(c.betas.1));
        let (one_b1, one_b2) = (T::of(1.0 - c.betas.0), T::of(1.0 - c.betas.1));
        let (wd, neg_lr) = (T::of(c.weight_decay), T::of(-lr));
        let [m] = state.slots_mut::<1>();
        fused(param, grad, [m], |p, g, [m]| {
            let direction = jnp_sign(one_b1 * g + b1 * *m);
            *m = one_b2 * g + b2 * *m;
            // Optax skips the decay when it is 0.
            let u = if c.weight_decay == 0.0 { direction } else { direction + wd * *p };
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
