//! The textbook momentum method: a velocity that
//! accumulates negative gradients.

use crate::error::{Result, check, check_common};
use crate::platform::Float;
use crate::platform::filled_vec;
use crate::rule::{State, UpdateRule, fused};

/// Textbook momentum: v ← αv − εg; θ ← θ + v, with v = 0 at the start (so
/// on a plane the velocity tends to εg/(1 − α)). Differs from
/// [`Sgd`](crate::Sgd)'s framework form in where the rate enters: changing
/// ε mid-run rescales only future gradients here. For the textbook Nesterov
/// form, which needs the gradient at θ + αv, see [`NesterovLookahead`](crate::NesterovLookahead).
#[derive(Clone, Debug, PartialEq)]
pub struct Momentum {
    lr: f64,
    alpha: f64,
}

impl Momentum {
    /// Rate ε and momentum α (0.5, 0.9, 0.99 are usual).
    ///
    /// # Errors
    /// A negative rate, or α outside [0, 1).
    pub fn new(lr: f64, alpha: f64) -> Result<Self> {
        check_common("momentum", lr, 0.0, 0.0)?;
        check((0.0..1.0).contains(&alpha), "momentum", "alpha", || format!("must be in [0, 1), got {alpha}"))?;
        Ok(Self { lr, alpha })
    }
}

impl<T: Float> UpdateRule<T> for Momentum {
    fn name(&self) -> &'static str {
        "momentum"
    }

    fn default_lr(&self) -> f64 {
        self.lr
    }

    fn slots(&self, _shape: &[usize]) -> &'static [&'static str] {
        &["velocity"]
    }

    fn update(&self, lr: f64, param: &mut [T], grad: &[T], state: &mut State<T>) {
        let (lr, alpha) = (T::of(lr), T::of(self.alpha));
        state.step += 1;
        fused(param, grad, state.slots_mut::<1>(), |p, g, [v]| {
            *v = alpha * *v - lr * g;
            *p += *v;
        });
    }

    fn momentum(&self) -> Option<f64> {
        Some(self.alpha)
    }

    fn set_momentum(&mut self, momentum: f64) -> bool {
        self.alpha = momentum;
        true
    }
}

/// Textbook Nesterov momentum, the closure form: θ̃ = θ + αv; g = ∇J(θ̃);
/// v ← αv − εg; θ ← θ + v. The caller's closure returns the gradient at
/// the look-ahead point.
///
/// ```
/// use gradus_optim::NesterovLookahead;
/// let mut nag = NesterovLookahead::new(0.1, 0.9, 1).unwrap();
/// let mut x = vec![10.0f64];
/// for _ in 0..200 {
///     nag.step(&mut x, |at| vec![2.0 * at[0]]); // f = x²
/// }
/// assert!(x[0].abs() < 1e-6);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct NesterovLookahead<T> {
    lr: f64,
    alpha: f64,
    velocity: Vec<T>,
}

impl<T: Float> NesterovLookahead<T> {
    /// Rate ε, momentum α, for `len` parameters.
    ///
    /// # Errors
    /// A negative rate, or α outside [0, 1).
    pub fn new(lr: f64, alpha: f64, len: usize) -> Result<Self> {
        Momentum::new(lr, alpha)?;
        Ok(Self { lr, alpha, velocity: filled_vec(len, T::zero()) })
    }

    /// One step; `grad_at` maps a point to the gradient there.
    ///
    /// # Panics
    /// If `theta` or the returned gradient has the wrong length.
    pub fn step(&mut self, theta: &mut [T], grad_at: impl FnOnce(&[T]) -> Vec<T>) {
        let (lr, alpha) = (T::of(self.lr), T::of(self.alpha));
        assert_eq!(theta.len(), self.velocity.len(), "NesterovLookahead: parameter length");
        let ahead: Vec<T> = theta.iter().zip(&self.velocity).map(|(&t, &v)| t + alpha * v).collect();
        let g = grad_at(&ahead);
        assert_eq!(g.len(), theta.len(), "NesterovLookahead: gradient length");
        for ((t, v), g) in theta.iter_mut().zip(&mut self.velocity).zip(g) {
            *v = alpha * *v - lr * g;
            *t += *v;
        }
    }

    /// The velocity.
    pub fn velocity(&self) -> &[T] {
        &self.velocity
    }
}
