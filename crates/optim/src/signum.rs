//! Signum (Bernstein et al., 2018, "signSGD: Compressed Optimisation for
//! Non-Convex Problems"): the sign of a momentum, as Optax's `signum`.

use crate::error::{Result, check, check_common};
use crate::platform::Float;
use crate::rule::{State, UpdateRule, fused, jnp_sign};

/// The hyper-parameters of [`Signum`]: Optax's default, PyTorch's key name
/// (`momentum` for Optax's `beta`). Optax has no default rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SignumConfig {
    /// Learning rate η.
    pub lr: f64,
    /// β (0.9), the momentum's decay.
    pub momentum: f64,
}

/// Signum as `optax.signum` (`ema` without debiasing, `scale_by_sign`,
/// `scale_by_learning_rate`), operation for operation:
/// m ← (1 − β)g + βm; θ ← θ + (−η)·sign(m). With β = 0 it is signSGD.
///
/// ```
/// use gradus_optim::{Optimizer, Signum, SignumConfig};
/// let mut opt = Optimizer::new(Signum::new(SignumConfig { lr: 0.5, momentum: 0.9 }).unwrap());
/// let mut theta = vec![1.0f64, 1.0];
/// opt.update(0, &mut theta, &[1e-9, -1e9]).unwrap();
/// assert_eq!(theta, [0.5, 1.5]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Signum {
    c: SignumConfig,
}

impl Signum {
    /// Validates `config`.
    ///
    /// # Errors
    /// A negative rate, or a momentum outside [0, 1].
    pub fn new(config: SignumConfig) -> Result<Self> {
        let c = config;
        check_common("signum", c.lr, 0.0, 0.0)?;
        check((0.0..=1.0).contains(&c.momentum), "signum", "momentum", || {
            format!("must be in [0, 1], got {}", c.momentum)
        })?;
        Ok(Self { c })
    }
}

impl<T: Float> UpdateRule<T> for Signum {
    fn name(&self) -> &'static str {
        "signum"
    }

    fn default_lr(&self) -> f64 {
        self.c.lr
    }

    fn slots(&self, _shape: &[usize]) -> &'static [&'static str] {
        &["ema"]
    }

    fn update(&self, lr: f64, param: &mut [T], grad: &[T], state: &mut State<T>) {
        let c = self.c;
        state.step += 1;
        let (beta, one_beta, neg_lr) = (T::of(c.momentum), T::of(1.0 - c.momentum), T::of(-lr));
        let [m] = state.slots_mut::<1>();
        fused(param, grad, [m], |p, g, [m]| {
            *m = one_beta * g + beta * *m;
            *p += neg_lr * jnp_sign(*m);
        });
    }

    fn momentum(&self) -> Option<f64> {
        Some(self.c.momentum)
    }

    fn set_momentum(&mut self, momentum: f64) -> bool {
        self.c.momentum = momentum;
        true
    }
}
