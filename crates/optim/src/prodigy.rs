//! Prodigy (Mishchenko & Defazio, 2023, "Prodigy: An Expeditiously
//! Adaptive Parameter-Free Learner"), as Optax's `contrib.prodigy`: AdamW
//! whose step size d is estimated from the distance travelled, one d for
//! a whole parameter group.

use crate::error::{Result, check, check_beta, check_common};
use crate::platform::Float;
use crate::rule::{Member, State, UpdateRule, jax_int_pow};

/// The hyper-parameters of [`Prodigy`]: Optax's defaults, PyTorch's key
/// names (`betas`, `eps`, `weight_decay`), Optax's `estim_lr0` as `d0`
/// and `estim_lr_coef` as `d_coef`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProdigyConfig {
    /// The rate, a factor on the estimated step size d (1.0; a schedule
    /// scales it).
    pub lr: f64,
    /// (β₁, β₂) = (0.9, 0.999); the estimate's own β₃ is √β₂.
    pub betas: (f64, f64),
    /// ε (1e-8), scaled by d and added to √v.
    pub eps: f64,
    /// The first, deliberately small, estimate of d (1e-6).
    pub d0: f64,
    /// A factor on every estimate of d (1.0).
    pub d_coef: f64,
    /// Decoupled weight decay λ, scaled by the step (0.0).
    pub weight_decay: f64,
}

impl Default for ProdigyConfig {
    fn default() -> Self {
        Self { lr: 1.0, betas: (0.9, 0.999), eps: 1e-8, d0: 1e-6, d_coef: 1.0, weight_decay: 0.0 }
    }
}

/// Prodigy as `optax.contrib.prodigy`, operation for operation. With
/// dη = d·η·√(1 − β₂ᵗ)/(1 − β₁ᵗ): m ← β₁m + (1 − β₁)·d·g;
/// v ← β₂v + (1 − β₂)(d·g)²; s ← β₃s + dη·d·g/d₀;
/// r ← β₃r + (d/d₀)·dη·⟨g, θ₀ − θ⟩; d ← max(d, d_coef·r/‖s‖₁);
/// θ ← θ − dη·m/(√v + d·ε) − λ·dη·θ. The inner product and the norm run
/// over every parameter of the group (in the parameters' order), so d,
/// r and the step count are one for the group: each parameter's state
/// holds a copy (scalars `d`, `numerator`, `count`), and a group's step
/// reads the copy of the member with the most steps. The state's slots are
/// `exp_avg`, `exp_avg_sq`, `grad_sum` and `params0` (θ at the first step).
///
/// ```
/// use gradus_optim::{Optimizer, Prodigy, ProdigyConfig};
/// let mut opt = Optimizer::<f64>::new(Prodigy::new(ProdigyConfig::default()).unwrap());
/// let (mut a, mut b) = (vec![1.0, -1.0], vec![0.5]);
/// for _ in 0..10 {
///     let (ga, gb) = (a.clone(), b.clone()); // the gradient of ½‖θ‖²
///     opt.step([(0, &[2][..], &mut a[..], Some(&ga[..])), (1, &[1][..], &mut b[..], Some(&gb[..]))]).unwrap();
/// }
/// // One estimate of d for both parameters, grown from d₀ = 1e-6.
/// let d = |key| opt.state(key).unwrap().scalars[0];
/// assert!(d(0) > 1e-6 && d(0) == d(1));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Prodigy {
    c: ProdigyConfig,
}

impl Prodigy {
    /// Validates `config`.
    ///
    /// # Errors
    /// A negative rate, ε or decay, a β outside [0, 1), or d₀ or d_coef
    /// not positive.
    pub fn new(config: ProdigyConfig) -> Result<Self> {
        let c = config;
        check_common("prodigy", c.lr, c.weight_decay, c.eps)?;
        check_beta("prodigy", "betas.0", c.betas.0)?;
        check_beta("prodigy", "betas.1", c.betas.1)?;
        check(c.d0 > 0.0, "prodigy", "d0", || format!("must be > 0, got {}", c.d0))?;
        check(c.d_coef > 0.0, "prodigy", "d_coef", || format!("must be > 0, got {}", c.d_coef))?;
        Ok(Self { c })
    }
}

/// `jnp.maximum`: NaN if either is.
fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() { f64::NAN } else { a.max(b) }
}

impl<T: Float> UpdateRule<T> for Prodigy {
    fn name(&self) -> &'static str {
        "prodigy"
    }

    fn default_lr(&self) -> f64 {
        self.c.lr
    }

    fn slots(&self, _shape: &[usize]) -> &'static [&'static str] {
        &["exp_avg", "exp_avg_sq", "grad_sum", "params0"]
    }

    fn scalars(&self, _shape: &[usize]) -> &'static [&'static str] {
        &["d", "numerator", "count"]
    }

    fn init(&self, _lr: f64, shape: &[usize]) -> State<T> {
        let len: usize = shape.iter().product();
        let slots = (0..4).map(|_| crate::platform::filled_vec(len, T::zero())).collect();
        State { shape: shape.to_vec(), step: 0, slots, scalars: vec![self.c.d0, 0.0, 0.0] }
    }

    /// A parameter on its own is a group of one.
    fn update(&self, lr: f64, param: &mut [T], grad: &[T], state: &mut State<T>) {
        self.update_group(lr, &mut [Member { param, grad, state }]);
    }

    fn couples(&self) -> bool {
        true
    }

    fn update_group(&self, lr: f64, members: &mut [Member<'_, T>]) {
        let Some(source) =
            members.iter().map(|m| m.state.scalars.clone()).reduce(|a, b| if b[2] > a[2] { b } else { a })
        else {
            return;
        };
        let (c, (beta1, beta2)) = (self.c, self.c.betas);
        let beta3 = beta2.powf(0.5);
        let (d, numerator, count) = (source[0], source[1], source[2] as u64 + 1);
        let bc = (1.0 - jax_int_pow(beta2, count)).powf(0.5) / (1.0 - jax_int_pow(beta1, count));
        let dlr = d * lr * bc;
        // ⟨g, θ₀ − θ⟩ before anything moves (θ₀ is θ at the first step).
        let mut inner = 0.0;
        for m in members.iter_mut() {
            if m.state.step == 0 {
                m.state.slots[3].copy_from_slice(m.param);
            }
            let p0 = &m.state.slots[3];
            // Each tensor's inner product, then their sum (Optax's tree_vdot).
            let dot = m.grad.iter().zip(m.param.iter()).zip(p0).fold(T::zero(), |s, ((&g, &p), &q)| s + g * (q - p));
            inner += dot.as_f64();
        }
        let (b1, one_b1, b2, one_b2, b3) =
            (T::of(beta1), T::of(1.0 - beta1), T::of(beta2), T::of(1.0 - beta2), T::of(beta3));
        let (dt, dlr_t, d0) = (T::of(d), T::of(dlr), T::of(c.d0));
        let mut l1 = 0.0;
        for m in members.iter_mut() {
            let [ea, eas, s, _] = m.state.slots_mut::<4>();
            let mut sum = T::zero();
            for (i, &g) in m.grad.iter().enumerate() {
                let dg = dt * g;
                ea[i] = b1 * ea[i] + one_b1 * dg;
                eas[i] = b2 * eas[i] + one_b2 * dg * dg;
                s[i] = b3 * s[i] + dlr_t * dg / d0;
                sum += s[i].abs();
            }
            l1 += sum.as_f64();
        }
        let numerator = beta3 * numerator + (d / c.d0) * dlr * inner;
        let d_new = nan_max(d, c.d_coef * numerator / l1);
        let (neg_dlr, eps_d, decay) = (T::of(-dlr), T::of(d_new * c.eps), T::of(c.weight_decay * dlr));
        for m in members.iter_mut() {
            let [ea, eas, ..] = m.state.slots_mut::<4>();
            for (i, p) in m.param.iter_mut().enumerate() {
                let u = neg_dlr * ea[i] / (eas[i].sqrt() + eps_d);
                let u = if c.weight_decay != 0.0 { u - decay * *p } else { u };
                *p += u;
            }
            m.state.step += 1;
            m.state.scalars = vec![d_new, numerator, count as f64];
        }
    }
}
