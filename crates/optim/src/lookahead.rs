//! Lookahead (Zhang et al., 2019, "Lookahead Optimizer: k steps forward, 1
//! step back"), as Optax's `lookahead`: any optimiser's fast weights pulled
//! back towards slow weights every k steps.

use crate::error::{Result, check};
use crate::platform::Float;
use crate::rule::{Member, State, UpdateRule, intern_slots};

/// Lookahead around an inner optimiser (`spec`): the parameters are the
/// fast weights, which the inner method updates every step; the state
/// keeps the slow weights φ (slot `slow`, after the inner method's own),
/// a copy of the parameters at the first step. At every k-th step, after
/// the inner update to θ, d = θ − φ, φ ← φ + α·d and θ ← φ's value at the
/// same rounding as Optax (θ + (u − (1 − α)·d), here θ − (1 − α)·d from
/// the updated θ, within an ulp of it). A trace shows the fast weights.
///
/// ```
/// use gradus_optim::{Lookahead, Optimizer, parse};
/// let mut opt = Optimizer::<f64>::new(Lookahead::new(parse("sgd(lr=0.1)").unwrap(), 2, 0.5).unwrap());
/// let mut theta = vec![1.0];
/// opt.update(0, &mut theta, &[1.0]).unwrap(); // fast: 0.9
/// opt.update(0, &mut theta, &[1.0]).unwrap(); // fast 0.8, then halfway back to 1
/// assert!((theta[0] - 0.9).abs() < 1e-15);
/// ```
#[derive(Debug)]
pub struct Lookahead<T: Float> {
    inner: Box<dyn UpdateRule<T>>,
    k: usize,
    alpha: f64,
}

impl<T: Float> Lookahead<T> {
    /// Lookahead with sync period `k` (Optax's `sync_period`) and slow step
    /// α (`slow_step_size`) around `inner`.
    ///
    /// # Errors
    /// k below 1, or α outside [0, 1].
    pub fn new(inner: Box<dyn UpdateRule<T>>, k: usize, alpha: f64) -> Result<Self> {
        check(k >= 1, "lookahead", "k", || format!("must be at least 1, got {k}"))?;
        check((0.0..=1.0).contains(&alpha), "lookahead", "alpha", || format!("must be in [0, 1], got {alpha}"))?;
        check(!crate::curvature::solves(&*inner), "lookahead", "optimizer", || {
            format!("must step on its own; {} solves with the batch's curvature inside its step", inner.name())
        })?;
        Ok(Self { inner, k, alpha })
    }
}

impl<T: Float> UpdateRule<T> for Lookahead<T> {
    fn name(&self) -> &'static str {
        "lookahead"
    }

    fn default_lr(&self) -> f64 {
        self.inner.default_lr()
    }

    fn slots(&self, shape: &[usize]) -> &'static [&'static str] {
        intern_slots(self.inner.slots(shape).iter().copied().chain(["slow"]).collect())
    }

    fn scalars(&self, shape: &[usize]) -> &'static [&'static str] {
        self.inner.scalars(shape)
    }

    fn init(&self, lr: f64, shape: &[usize]) -> State<T> {
        let mut state = self.inner.init(lr, shape);
        state.slots.push(crate::platform::filled_vec(shape.iter().product(), T::zero()));
        state
    }

    fn update(&self, lr: f64, param: &mut [T], grad: &[T], state: &mut State<T>) {
        self.update_group(lr, &mut [Member { param, grad, state }]);
    }

    fn couples(&self) -> bool {
        self.inner.couples()
    }

    fn sharpness_aware(&self) -> Option<crate::Perturbation> {
        self.inner.sharpness_aware()
    }

    fn curvature_request(&self) -> Option<crate::CurvatureRequest> {
        self.inner.curvature_request()
    }

    fn observe_curvature(&self, state: &mut State<T>, estimate: crate::Estimate<'_, T>) {
        // The inner method's slots are all but `slow`.
        let slow = state.slots.pop().expect("lookahead's slow weights are the last slot");
        self.inner.observe_curvature(state, estimate);
        state.slots.push(slow);
    }

    fn update_group(&self, lr: f64, members: &mut [Member<'_, T>]) {
        let slows: Vec<Vec<T>> = members
            .iter_mut()
            .map(|m| {
                let mut slow = m.state.slots.pop().expect("lookahead's slow weights are the last slot");
                if m.state.step == 0 {
                    slow.copy_from_slice(m.param);
                }
                slow
            })
            .collect();
        // The inner method sees its own state and counts the steps.
        self.inner.update_group(lr, members);
        let (alpha, rest) = (T::of(self.alpha), T::of(1.0 - self.alpha));
        for (m, mut slow) in members.iter_mut().zip(slows) {
            if m.state.step.is_multiple_of(self.k as u64) {
                for (p, s) in m.param.iter_mut().zip(slow.iter_mut()) {
                    let d = *p - *s;
                    *s += alpha * d;
                    *p += -(rest * d);
                }
            }
            m.state.slots.push(slow);
        }
    }

    fn eval_params(&self, param: &[T], state: &State<T>) -> Option<Vec<T>> {
        // The inner method's, from its own slots (all but `slow`).
        let slots = state.slots[..state.slots.len() - 1].to_vec();
        let inner = State { shape: state.shape.clone(), step: state.step, slots, scalars: state.scalars.clone() };
        self.inner.eval_params(param, &inner)
    }

    fn momentum(&self) -> Option<f64> {
        self.inner.momentum()
    }

    fn set_momentum(&mut self, momentum: f64) -> bool {
        self.inner.set_momentum(momentum)
    }
}
