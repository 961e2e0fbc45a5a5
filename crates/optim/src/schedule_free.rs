//! Schedule-free SGD and AdamW (Defazio et al., 2024, "The Road Less
//! Scheduled"), as Optax's `schedule_free_sgd` and `schedule_free_adamw`:
//! momentum replaced by interpolation between a base sequence z and its
//! running average x, so no decaying schedule is needed.

use crate::error::{Result, check, check_beta, check_common};
use crate::platform::Float;
use crate::rule::{State, UpdateRule, fused, optax_debias};

/// The base step under the schedule-free averaging.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ScheduleFreeBase {
    /// Plain SGD: u = −η·(g + λθ).
    Sgd,
    /// Adam without momentum (Optax's `scale_by_rms` with bias correction,
    /// ε outside the root): u = −η·(g/(√v̂ + ε) + λθ).
    AdamW {
        /// β₂ of the second moment.
        beta2: f64,
        /// ε, added to √v̂.
        eps: f64,
    },
}

/// The hyper-parameters of [`ScheduleFree`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScheduleFreeConfig {
    /// Learning rate η (1.0 for SGD, 2.5e-3 for AdamW, as Optax).
    pub lr: f64,
    /// β₁ (`momentum` for SGD, `betas.0` for AdamW): where the gradient is
    /// taken between x and z, y = β₁x + (1 − β₁)z.
    pub b1: f64,
    /// Linear warm-up of the rate over this many steps (0: none).
    pub warmup_steps: u64,
    /// Weight decay λ, added to the base step's gradient and scaled by η.
    pub weight_decay: f64,
    /// The base step.
    pub base: ScheduleFreeBase,
}

impl ScheduleFreeConfig {
    /// `schedule_free_sgd`'s defaults (Optax's): rate 1, β₁ 0.9.
    pub fn sgd() -> Self {
        Self { lr: 1.0, b1: 0.9, warmup_steps: 0, weight_decay: 0.0, base: ScheduleFreeBase::Sgd }
    }

    /// `schedule_free_adamw`'s defaults (Optax's): rate 2.5e-3, betas
    /// (0.9, 0.999), ε 1e-8.
    pub fn adamw() -> Self {
        Self {
            lr: 2.5e-3,
            b1: 0.9,
            warmup_steps: 0,
            weight_decay: 0.0,
            base: ScheduleFreeBase::AdamW { beta2: 0.999, eps: 1e-8 },
        }
    }
}

/// Schedule-free learning as `optax.contrib.schedule_free` around SGD or
/// momentum-free AdamW, operation for operation. The parameters are the
/// y sequence, where gradients are taken; the state keeps z (slot `z`,
/// after the base step's `nu`) and the scalars `weight_sum` and `max_lr`.
/// A step: z' = z + u (the base step u at y), x = (y − (1 − β₁)z)/β₁,
/// x' = (1 − c)x + c·z' with c = η̄²/Ση̄² (η̄ the largest rate so far, so
/// warm-up steps weigh less), y' = β₁x' + (1 − β₁)z'. Evaluation and
/// saved weights use x ([`UpdateRule::eval_params`]), Optax's
/// `schedule_free_eval_params`. With `warmup_steps` = w the rate rises
/// linearly as Optax's `warmup_constant_schedule`: the averaging weight
/// reads it at step t + 1 and the base step at t, as Optax's two counters
/// do.
///
/// ```
/// use gradus_optim::{Optimizer, ScheduleFree, ScheduleFreeConfig};
/// let mut opt = Optimizer::<f64>::new(ScheduleFree::new(ScheduleFreeConfig::sgd()).unwrap());
/// let mut y = vec![1.0];
/// opt.update(0, &mut y, &[2.0]).unwrap(); // z = 1 − 2 = −1; the first average is z: x = y = −1
/// let x = opt.eval_params(0, &y).unwrap();
/// assert!((y[0] + 1.0).abs() < 1e-15 && (x[0] + 1.0).abs() < 1e-15);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduleFree {
    c: ScheduleFreeConfig,
}

impl ScheduleFree {
    /// Validates `config`.
    ///
    /// # Errors
    /// A negative rate, decay or ε; β₁ outside (0, 1) (the evaluation
    /// parameters divide by it), β₂ outside [0, 1).
    pub fn new(config: ScheduleFreeConfig) -> Result<Self> {
        let c = config;
        let (name, key) = match c.base {
            ScheduleFreeBase::Sgd => ("schedule_free_sgd", "momentum"),
            ScheduleFreeBase::AdamW { .. } => ("schedule_free_adamw", "betas.0"),
        };
        let eps = match c.base {
            ScheduleFreeBase::Sgd => 0.0,
            ScheduleFreeBase::AdamW { eps, .. } => eps,
        };
        check_common(name, c.lr, c.weight_decay, eps)?;
        check(c.b1 > 0.0 && c.b1 < 1.0, name, key, || {
            format!("must be in (0, 1): evaluation divides by it, got {}", c.b1)
        })?;
        if let ScheduleFreeBase::AdamW { beta2, .. } = c.base {
            check_beta(name, "betas.1", beta2)?;
        }
        Ok(Self { c })
    }

    /// The rate at Optax's count `count`: η·min(1, count/w) as
    /// `warmup_constant_schedule(0, η, w)` rounds it, η without warm-up.
    /// Optax's counters are 32-bit integers, which JAX divides in float32,
    /// so the warm-up's rates are float32 values (0.01/4 is
    /// 0.0024999999441206455) even where everything else is float64.
    fn rate(&self, lr: f64, count: u64) -> f64 {
        let w = self.c.warmup_steps;
        if w == 0 {
            return lr;
        }
        let frac = 1.0f32 - count.min(w) as f32 / w as f32;
        let lr = lr as f32;
        f64::from(-lr * frac + lr)
    }
}

impl<T: Float> UpdateRule<T> for ScheduleFree {
    fn name(&self) -> &'static str {
        match self.c.base {
            ScheduleFreeBase::Sgd => "schedule_free_sgd",
            ScheduleFreeBase::AdamW { .. } => "schedule_free_adamw",
        }
    }

    fn default_lr(&self) -> f64 {
        self.c.lr
    }

    fn slots(&self, _shape: &[usize]) -> &'static [&'static str] {
        match self.c.base {
            ScheduleFreeBase::Sgd => &["z"],
            ScheduleFreeBase::AdamW { .. } => &["nu", "z"],
        }
    }

    fn scalars(&self, _shape: &[usize]) -> &'static [&'static str] {
        &["weight_sum", "max_lr"]
    }

    fn init(&self, _lr: f64, shape: &[usize]) -> State<T> {
        let len: usize = shape.iter().product();
        let slots = UpdateRule::<T>::slots(self, shape).iter().map(|_| crate::platform::filled_vec(len, T::zero()));
        State { shape: shape.to_vec(), step: 0, slots: slots.collect(), scalars: vec![0.0, 0.0] }
    }

    fn update(&self, lr: f64, param: &mut [T], grad: &[T], state: &mut State<T>) {
        let c = self.c;
        let t = state.step;
        let max_lr = state.scalars[1].max(self.rate(lr, t + 1));
        let weight = max_lr * max_lr;
        let total = state.scalars[0] + weight;
        let ck = if weight.is_nan() || total.is_nan() {
            f64::NAN
        } else {
            let ratio = weight / total;
            if ratio.is_nan() { 0.0 } else { ratio }
        };
        state.scalars = vec![total, max_lr];
        state.step += 1;
        if t == 0 {
            let z = state.slots.last_mut().expect("z is the last slot");
            z.copy_from_slice(param);
        }
        let neg_lr = T::of(-self.rate(lr, t));
        // XLA divides by the constant β₁ by multiplying with its reciprocal.
        let (b1, inv_b1, one_b1) = (T::of(c.b1), T::of(1.0 / c.b1), T::of(1.0 - c.b1));
        let (ck, one_ck) = (T::of(ck), T::of(1.0 - ck));
        let wd = (c.weight_decay != 0.0).then(|| T::of(c.weight_decay));
        // z' = z + u, then x, x' and y' from y, z and z', as Optax.
        let average = move |p: &mut T, z: &mut T, u: T| {
            let z_new = *z + u;
            let x = (*p - one_b1 * *z) * inv_b1;
            let x = one_ck * x + ck * z_new;
            let y = b1 * x + one_b1 * z_new;
            *p = *p + (y - *p);
            *z = z_new;
        };
        match c.base {
            ScheduleFreeBase::Sgd => {
                let [z] = state.slots_mut::<1>();
                fused(param, grad, [z], |p, g, [z]| {
                    let g = wd.map_or(g, |wd| g + wd * *p);
                    average(p, z, neg_lr * g);
                });
            }
            ScheduleFreeBase::AdamW { beta2, eps } => {
                let (b2, one_b2, eps) = (T::of(beta2), T::of(1.0 - beta2), T::of(eps));
                let d2: T = optax_debias(beta2, state.step);
                let [nu, z] = state.slots_mut::<2>();
                fused(param, grad, [nu, z], |p, g, [nu, z]| {
                    *nu = one_b2 * (g * g) + b2 * *nu;
                    let u = T::one() / ((*nu * d2).sqrt() + eps) * g;
                    let u = wd.map_or(u, |wd| u + wd * *p);
                    average(p, z, neg_lr * u);
                });
            }
        }
    }

    fn eval_params(&self, param: &[T], state: &State<T>) -> Option<Vec<T>> {
        if state.step == 0 {
            return None;
        }
        let z = state.slots.last().expect("z is the last slot");
        let (inv_b1, one_b1) = (T::of(1.0 / self.c.b1), T::of(1.0 - self.c.b1));
        Some(param.iter().zip(z).map(|(&y, &z)| (y - one_b1 * z) * inv_b1).collect())
    }
}
