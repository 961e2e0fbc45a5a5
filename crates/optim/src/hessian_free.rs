//! Hessian-free optimisation (Martens 2010): on each batch, conjugate
//! gradient on the damped curvature system (B + λI)p = −g from the last
//! solution, the best of its saved iterates chosen by backtracking, the
//! damping adjusted by Levenberg–Marquardt's rule, and a backtracking line
//! search on the step (Martens & Sutskever 2012).

use crate::curvature::{CurvatureKind, CurvatureOracle, CurvatureRequest};
use crate::error::{Result, check};
use crate::platform::Float;
use crate::rule::{Member, State, UpdateRule};
use std::cmp::Ordering;

/// The hyper-parameters of [`HessianFree`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HessianFreeConfig {
    /// The line search's first step length (1: the CG solution whole).
    pub lr: f64,
    /// λ at the first step; Levenberg–Marquardt's rule moves it after.
    pub damping: f64,
    /// Conjugate-gradient iterations at most per step.
    pub cg_steps: usize,
    /// [`CurvatureKind::Ggn`] (positive semi-definite) or
    /// [`CurvatureKind::Hessian`] (CG stops at a direction of
    /// non-positive curvature).
    pub curvature: CurvatureKind,
}

impl Default for HessianFreeConfig {
    fn default() -> Self {
        Self { lr: 1.0, damping: 1.0, cg_steps: 50, curvature: CurvatureKind::Ggn }
    }
}

/// Hessian-free: Newton's method with the curvature known only through
/// products, on each batch. CG starts from 0.95 times the last step's
/// solution; it stops after `cg_steps` iterations, at a direction of
/// non-positive curvature, when the residual vanishes, or by Martens'
/// relative-progress rule (k = max(10, 0.1·i), φᵢ < 0 and
/// (φᵢ − φᵢ₋ₖ)/φᵢ < 5·10⁻⁴·k). The iterates at i = ⌈1.3ʲ⌉ and the last are
/// kept; going back from the last, an earlier one is taken while it has
/// the lower loss. The damping moves by ρ = (f(θ + p) − f(θ))/(gᵀp +
/// ½pᵀBp): ×3/2 below ¼, ×2/3 above ¾. The step length starts at `lr` and
/// shrinks by 0.8 until f(θ + αp) ≤ f(θ) + 10⁻²·α·gᵀp (none after 60
/// tries: no step). State: `direction` (the last CG solution) and the
/// scalar `damping`, the same in every parameter's state.
///
/// ```
/// use gradus_optim::{CurvatureOracle, HessianFree, HessianFreeConfig, Optimizer};
/// // f(θ) = ½θᵀAθ − bᵀθ with A = [[4, 1], [1, 3]], b = (1, 2).
/// struct Quadratic;
/// impl CurvatureOracle<f64> for Quadratic {
///     fn product(&mut self, v: &[f64]) -> Result<Vec<f64>, String> {
///         Ok(vec![4.0 * v[0] + v[1], v[0] + 3.0 * v[1]])
///     }
///     fn loss_at(&mut self, t: &[f64]) -> Result<f64, String> {
///         Ok(0.5 * (4.0 * t[0] * t[0] + 2.0 * t[0] * t[1] + 3.0 * t[1] * t[1]) - t[0] - 2.0 * t[1])
///     }
/// }
/// let cfg = HessianFreeConfig { damping: 0.0, ..Default::default() };
/// let mut opt = Optimizer::<f64>::new(HessianFree::new(cfg).unwrap());
/// let mut theta = vec![0.0, 0.0];
/// let grad = [-1.0, -2.0]; // Aθ − b at 0
/// opt.step_solving([(0, &[2usize][..], &mut theta[..], Some(&grad[..]))], &mut Quadratic).unwrap();
/// // One step lands on A⁻¹b = (1/11, 7/11), as Newton's.
/// assert!((theta[0] - 1.0 / 11.0).abs() < 1e-14 && (theta[1] - 7.0 / 11.0).abs() < 1e-14);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct HessianFree {
    c: HessianFreeConfig,
}

/// Martens' CG warm start: the last solution times this.
const WARM_START: f64 = 0.95;
/// Line search: sufficient decrease c and shrink factor, and tries.
const ARMIJO: f64 = 1e-2;
const SHRINK: f64 = 0.8;
const TRIES: usize = 60;

impl HessianFree {
    /// Validates `config`.
    ///
    /// # Errors
    /// A rate that is not positive, a negative damping, no CG iteration,
    /// or a curvature other than the Gauss–Newton matrix or the Hessian.
    pub fn new(config: HessianFreeConfig) -> Result<Self> {
        let c = config;
        check(c.lr > 0.0 && c.lr.is_finite(), "hessian_free", "lr", || format!("must be positive, got {}", c.lr))?;
        check(c.damping >= 0.0 && c.damping.is_finite(), "hessian_free", "damping", || {
            format!("must be >= 0, got {}", c.damping)
        })?;
        check(c.cg_steps >= 1, "hessian_free", "cg_steps", || format!("must be at least 1, got {}", c.cg_steps))?;
        check(c.curvature.solves(), "hessian_free", "curvature", || {
            format!("must be ggn or hessian, got {:?}", c.curvature)
        })?;
        Ok(Self { c })
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The damped product (B + λI)v in f64, through the oracle.
fn damped<T: Float>(
    oracle: &mut dyn CurvatureOracle<T>,
    v: &[f64],
    lambda: f64,
) -> std::result::Result<Vec<f64>, String> {
    let bv = oracle.product(&v.iter().map(|&x| T::of(x)).collect::<Vec<_>>())?;
    Ok(bv.iter().zip(v).map(|(b, x)| b.as_f64() + lambda * x).collect())
}

/// θ + αp as the oracle's element type.
fn moved<T: Float>(theta: &[f64], p: &[f64], alpha: f64) -> Vec<T> {
    theta.iter().zip(p).map(|(t, p)| T::of(t + alpha * p)).collect()
}

/// The iterations whose iterates CG keeps for backtracking: ⌈1.3ʲ⌉.
fn kept(i: usize) -> bool {
    let mut m = 1.0f64;
    while m.ceil() < i as f64 {
        m *= 1.3;
    }
    m.ceil() as usize == i
}

impl<T: Float> UpdateRule<T> for HessianFree {
    fn name(&self) -> &'static str {
        "hessian_free"
    }

    fn default_lr(&self) -> f64 {
        self.c.lr
    }

    fn slots(&self, _shape: &[usize]) -> &'static [&'static str] {
        &["direction"]
    }

    fn scalars(&self, _shape: &[usize]) -> &'static [&'static str] {
        &["damping"]
    }

    fn init(&self, _lr: f64, shape: &[usize]) -> State<T> {
        let len = shape.iter().product();
        let slots = vec![crate::platform::filled_vec(len, T::zero())];
        State { shape: shape.to_vec(), step: 0, slots, scalars: vec![self.c.damping] }
    }

    fn curvature_request(&self) -> Option<CurvatureRequest> {
        Some(CurvatureRequest { kind: self.c.curvature, every: 1 })
    }

    /// Without the curvature (a caller that does not solve): the damped
    /// step −g/λ alone, which [`Optimizer::step`](crate::Optimizer::step)
    /// refuses to take for this method.
    fn update(&self, lr: f64, param: &mut [T], grad: &[T], state: &mut State<T>) {
        state.step += 1;
        let scale = T::of(lr / state.scalars[0].max(f64::MIN_POSITIVE));
        param.iter_mut().zip(grad).for_each(|(p, &g)| *p -= scale * g);
    }

    fn update_solving(
        &self,
        lr: f64,
        members: &mut [Member<'_, T>],
        oracle: &mut dyn CurvatureOracle<T>,
    ) -> std::result::Result<(), String> {
        let Some(lead) = members.iter().max_by_key(|m| m.state.step) else { return Ok(()) };
        let lambda = lead.state.scalars[0];
        let flat = |s: &[T]| s.iter().map(|v| v.as_f64()).collect::<Vec<_>>();
        let theta: Vec<f64> = members.iter().flat_map(|m| flat(m.param)).collect();
        let g: Vec<f64> = members.iter().flat_map(|m| flat(m.grad)).collect();
        let previous: Vec<f64> = members.iter().flat_map(|m| flat(&m.state.slots[0])).collect();
        let b: Vec<f64> = g.iter().map(|x| -x).collect();
        let bb = dot(&b, &b);

        // Conjugate gradient on (B + λI)x = b from the warm start.
        let mut x: Vec<f64> = previous.iter().map(|v| WARM_START * v).collect();
        let mut r = if x.iter().any(|&v| v != 0.0) {
            let ax = damped(oracle, &x, lambda)?;
            b.iter().zip(ax).map(|(b, a)| b - a).collect()
        } else {
            b.clone()
        };
        let mut d = r.clone();
        let mut rr = dot(&r, &r);
        let mut phis = vec![-0.5 * dot(&x, &b.iter().zip(&r).map(|(b, r)| b + r).collect::<Vec<_>>())];
        let mut saved: Vec<Vec<f64>> = Vec::new();
        for i in 1..=self.c.cg_steps {
            if rr <= 1e-28 * bb || bb == 0.0 {
                break;
            }
            let ad = damped(oracle, &d, lambda)?;
            let dad = dot(&d, &ad);
            if dad.partial_cmp(&0.0) != Some(Ordering::Greater) {
                break; // non-positive (or non-finite) curvature along d
            }
            let alpha = rr / dad;
            x.iter_mut().zip(&d).for_each(|(x, d)| *x += alpha * d);
            r.iter_mut().zip(&ad).for_each(|(r, a)| *r -= alpha * a);
            let phi = -0.5 * dot(&x, &b.iter().zip(&r).map(|(b, r)| b + r).collect::<Vec<_>>());
            phis.push(phi);
            if kept(i) {
                saved.push(x.clone());
            }
            let k = 10usize.max((0.1 * i as f64).ceil() as usize);
            if i > k && phi < 0.0 && (phi - phis[i - k]) / phi < 5e-4 * k as f64 {
                break;
            }
            let rr_new = dot(&r, &r);
            d.iter_mut().zip(&r).for_each(|(d, r)| *d = r + (rr_new / rr) * *d);
            rr = rr_new;
        }
        if saved.last() != Some(&x) {
            saved.push(x.clone());
        }

        // Backtracking over the kept iterates, from the last.
        let f0 = oracle.loss_at(&moved::<T>(&theta, &x, 0.0))?;
        let mut best = saved.len() - 1;
        let mut f_best = oracle.loss_at(&moved::<T>(&theta, &saved[best], 1.0))?;
        while best > 0 {
            let f = oracle.loss_at(&moved::<T>(&theta, &saved[best - 1], 1.0))?;
            if f.partial_cmp(&f_best) != Some(Ordering::Less) {
                break;
            }
            best -= 1;
            f_best = f;
        }
        let p = &saved[best];

        // Levenberg–Marquardt: the reduction against the undamped model's.
        let bp = damped(oracle, p, 0.0)?;
        let gp = dot(&g, p);
        let predicted = gp + 0.5 * dot(p, &bp);
        let rho = if predicted < 0.0 { (f_best - f0) / predicted } else { f64::NEG_INFINITY };
        let lambda = if rho < 0.25 {
            lambda * 1.5
        } else if rho > 0.75 {
            lambda * (2.0 / 3.0)
        } else {
            lambda
        };

        // The line search on the step length.
        let mut alpha = lr;
        let mut f = if alpha == 1.0 { f_best } else { oracle.loss_at(&moved::<T>(&theta, p, alpha))? };
        let mut tries = 0;
        while !matches!(f.partial_cmp(&(f0 + ARMIJO * alpha * gp)), Some(Ordering::Less | Ordering::Equal)) {
            tries += 1;
            if tries > TRIES {
                alpha = 0.0;
                break;
            }
            alpha *= SHRINK;
            f = oracle.loss_at(&moved::<T>(&theta, p, alpha))?;
        }

        let mut at = 0;
        for m in members.iter_mut() {
            let n = m.param.len();
            for (j, v) in m.param.iter_mut().enumerate() {
                *v = T::of(theta[at + j] + alpha * p[at + j]);
            }
            m.state.slots[0].iter_mut().zip(&x[at..at + n]).for_each(|(s, &v)| *s = T::of(v));
            m.state.scalars[0] = lambda;
            m.state.step += 1;
            at += n;
        }
        Ok(())
    }
}
