//! LARS (You, Gitman & Ginsburg, 2017, "Large Batch Training of
//! Convolutional Networks"): SGD with momentum whose step is rescaled per
//! parameter by a trust ratio, as Optax's `lars`.

use crate::error::{Result, check, check_common};
use crate::platform::{Float, pooled_vec, recycle};
use crate::rule::{State, UpdateRule, trust_ratio};

/// The hyper-parameters of [`Lars`]: Optax's defaults, PyTorch's key names.
/// Optax has no default rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LarsConfig {
    /// Learning rate η.
    pub lr: f64,
    /// μ (0.9).
    pub momentum: f64,
    /// λ (0), added to the gradient as λθ.
    pub weight_decay: f64,
    /// The trust coefficient c (0.001).
    pub trust_coefficient: f64,
    /// ε (0), added to ‖u‖.
    pub eps: f64,
    /// Nesterov momentum (false).
    pub nesterov: bool,
}

impl LarsConfig {
    /// Optax's defaults at rate `lr`.
    pub fn with_lr(lr: f64) -> Self {
        Self { lr, momentum: 0.9, weight_decay: 0.0, trust_coefficient: 0.001, eps: 0.0, nesterov: false }
    }
}

/// LARS as `optax.lars` (`add_decayed_weights`, `scale_by_trust_ratio`,
/// `scale_by_learning_rate`, `trace`), operation for operation:
/// u = g + λθ; u ← u·(c‖θ‖/(‖u‖ + ε)) (the ratio 1 when either norm is 0);
/// u ← (−η)·u; b ← u + μb; θ ← θ + b, or θ + (u + μb) with Nesterov.
///
/// ```
/// use gradus_optim::{Lars, LarsConfig, Optimizer};
/// let mut opt = Optimizer::new(Lars::new(LarsConfig { trust_coefficient: 1.0, ..LarsConfig::with_lr(0.1) }).unwrap());
/// let mut theta = vec![3.0f64, 4.0];
/// opt.update(0, &mut theta, &[0.0, 2.0]).unwrap();
/// assert_eq!(theta, [3.0, 3.5]); // ‖θ‖/‖g‖ = 2.5: a step of 0.1·2.5·2
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Lars {
    c: LarsConfig,
}

impl Lars {
    /// Validates `config`.
    ///
    /// # Errors
    /// A negative rate, weight decay, eps or trust coefficient, or a
    /// momentum outside [0, 1].
    pub fn new(config: LarsConfig) -> Result<Self> {
        let c = config;
        check_common("lars", c.lr, c.weight_decay, c.eps)?;
        check(c.trust_coefficient >= 0.0, "lars", "trust_coefficient", || {
            format!("must be >= 0, got {}", c.trust_coefficient)
        })?;
        check((0.0..=1.0).contains(&c.momentum), "lars", "momentum", || {
            format!("must be in [0, 1], got {}", c.momentum)
        })?;
        Ok(Self { c })
    }
}

impl<T: Float> UpdateRule<T> for Lars {
    fn name(&self) -> &'static str {
        "lars"
    }

    fn default_lr(&self) -> f64 {
        self.c.lr
    }

    fn slots(&self, _shape: &[usize]) -> &'static [&'static str] {
        &["trace"]
    }

    fn update(&self, lr: f64, param: &mut [T], grad: &[T], state: &mut State<T>) {
        let c = self.c;
        state.step += 1;
        let wd = T::of(c.weight_decay);
        let mut u = pooled_vec::<T>(param.len());
        for ((u, &g), &p) in u.iter_mut().zip(grad).zip(param.iter()) {
            *u = if c.weight_decay == 0.0 { g } else { g + wd * p };
        }
        let ratio = trust_ratio(param, &u, T::of(c.trust_coefficient), T::of(c.eps));
        let (neg_lr, mu) = (T::of(-lr), T::of(c.momentum));
        let [b] = state.slots_mut::<1>();
        for ((p, &u), b) in param.iter_mut().zip(&u).zip(b.iter_mut()) {
            let u = neg_lr * (u * ratio);
            *b = u + mu * *b;
            *p += if c.nesterov { u + mu * *b } else { *b };
        }
        recycle(u);
    }

    fn momentum(&self) -> Option<f64> {
        Some(self.c.momentum)
    }

    fn set_momentum(&mut self, momentum: f64) -> bool {
        self.c.momentum = momentum;
        true
    }
}
