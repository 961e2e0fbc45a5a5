//! Rprop (Riedmiller & Braun, 1993): per-weight step sizes driven by the
//! sign of the gradient only.

use crate::error::{Result, check, check_common};
use crate::platform::Float;
use crate::platform::filled_vec;
use crate::rule::{State, UpdateRule, fused};

/// The hyper-parameters of [`Rprop`], PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RpropConfig {
    /// The initial step size (1e-2).
    pub lr: f64,
    /// (η⁻, η⁺) = (0.5, 1.2): shrink on a sign change, grow otherwise.
    pub etas: (f64, f64),
    /// (minimal, maximal) step size = (1e-6, 50).
    pub step_sizes: (f64, f64),
    /// Ascend instead (false).
    pub maximize: bool,
}

impl Default for RpropConfig {
    fn default() -> Self {
        Self { lr: 1e-2, etas: (0.5, 1.2), step_sizes: (1e-6, 50.0), maximize: false }
    }
}

/// Rprop as `torch.optim.Rprop`: where g·g_prev > 0 the step size grows by
/// η⁺, where < 0 it shrinks by η⁻ and that gradient counts as 0 (no move,
/// no sign memory), clamped to the step-size range; θ ← θ − sign(g)·step.
#[derive(Clone, Debug, PartialEq)]
pub struct Rprop {
    c: RpropConfig,
}

impl Rprop {
    /// Validates `config`.
    ///
    /// # Errors
    /// A negative rate, or not 0 < η⁻ < 1 < η⁺, or step sizes out of order.
    pub fn new(config: RpropConfig) -> Result<Self> {
        let c = config;
        check_common("rprop", c.lr, 0.0, 0.0)?;
        check(0.0 < c.etas.0 && c.etas.0 < 1.0 && c.etas.1 > 1.0, "rprop", "etas", || {
            format!("must satisfy 0 < etaminus < 1 < etaplus, got {:?}", c.etas)
        })?;
        check(0.0 <= c.step_sizes.0 && c.step_sizes.0 <= c.step_sizes.1, "rprop", "step_sizes", || {
            format!("must satisfy 0 <= min <= max, got {:?}", c.step_sizes)
        })?;
        Ok(Self { c })
    }
}

impl<T: Float> UpdateRule<T> for Rprop {
    fn name(&self) -> &'static str {
        "rprop"
    }

    fn default_lr(&self) -> f64 {
        self.c.lr
    }

    fn slots(&self, _shape: &[usize]) -> &'static [&'static str] {
        &["prev", "step_size"]
    }

    fn init(&self, lr: f64, shape: &[usize]) -> State<T> {
        let len = shape.iter().product();
        State {
            shape: shape.to_vec(),
            step: 0,
            slots: vec![filled_vec(len, T::zero()), filled_vec(len, T::of(lr))],
            scalars: Vec::new(),
        }
    }

    fn update(&self, _lr: f64, param: &mut [T], grad: &[T], state: &mut State<T>) {
        let c = self.c;
        state.step += 1;
        let (minus, plus) = (T::of(c.etas.0), T::of(c.etas.1));
        let (lo, hi) = (T::of(c.step_sizes.0), T::of(c.step_sizes.1));
        let [prev, size] = state.slots_mut::<2>();
        fused(param, grad, [prev, size], |p, g, [prev, size]| {
            let g = if c.maximize { -g } else { g };
            let product = g * *prev;
            let factor = if product > T::zero() {
                plus
            } else if product < T::zero() {
                minus
            } else {
                T::one()
            };
            *size = (*size * factor).max(lo).min(hi);
            let g = if factor == minus { T::zero() } else { g };
            let sign = if g > T::zero() {
                T::one()
            } else if g < T::zero() {
                -T::one()
            } else {
                T::zero()
            };
            *p -= sign * *size;
            *prev = g;
        });
    }
}
