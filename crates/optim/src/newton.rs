//! Newton's method and damped Newton, from a Hessian
//! (solved with faer's Cholesky and LU) or from Hessian-vector products
//! (conjugate gradient), with damping when the Hessian is not positive
//! definite.

use crate::error::{OptimError, Result, check};
use gradus_tensor::{Float, Tensor, TensorError};

/// The hyper-parameters of [`Newton`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NewtonConfig {
    /// Step scale: θ ← θ − lr·d (1: the full Newton step).
    pub lr: f64,
    /// λ in (H + λI)d = g, the Levenberg–Marquardt damping (0: pure Newton).
    pub damping: f64,
    /// Conjugate-gradient iterations at most (Hessian-vector form; 0 = the
    /// dimension).
    pub cg_max_iter: usize,
    /// CG stops when ‖residual‖ ≤ cg_tol·‖g‖.
    pub cg_tol: f64,
}

impl Default for NewtonConfig {
    fn default() -> Self {
        Self { lr: 1.0, damping: 0.0, cg_max_iter: 0, cg_tol: 1e-10 }
    }
}

/// What a Newton step did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NewtonStep {
    /// The damping λ actually used (above the configured one when H + λI
    /// was not positive definite).
    pub damping: f64,
    /// CG iterations (0 for the Hessian form).
    pub cg_iterations: usize,
    /// CG met a direction of non-positive curvature and stopped there.
    pub negative_curvature: bool,
}

/// Newton's method: d solves (H + λI)d = ∇J and θ ← θ − lr·d. From a dense
/// Hessian, H + λI is factorised with Cholesky; when that fails (H not
/// positive definite: a saddle, a maximum), λ grows tenfold from
/// 10⁻⁸·max|Hᵢᵢ| until it succeeds, so the step always descends. From
/// Hessian-vector products, conjugate gradient solves the system without
/// forming H and stops at the first direction of non-positive curvature
/// (truncated Newton; the gradient itself if that is the first).
///
/// ```
/// use gradus_optim::{Newton, NewtonConfig};
/// use gradus_tensor::Tensor;
/// // J = ½θᵀAθ − bᵀθ: one Newton step lands on A⁻¹b.
/// let a = Tensor::from_vec(vec![4.0f64, 1.0, 1.0, 3.0], &[2, 2]).unwrap();
/// let mut theta = vec![0.0, 0.0];
/// let grad = vec![-1.0, -2.0]; // Aθ − b at θ = 0, b = (1, 2)
/// Newton::new(NewtonConfig::default()).unwrap().step(&mut theta, &grad, &a).unwrap();
/// assert!((theta[0] - 1.0 / 11.0).abs() < 1e-15 && (theta[1] - 7.0 / 11.0).abs() < 1e-15);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Newton {
    c: NewtonConfig,
}

const MAX_DAMPING_TRIES: usize = 60;

impl Newton {
    /// Validates `config`.
    ///
    /// # Errors
    /// A negative rate, damping or tolerance.
    pub fn new(config: NewtonConfig) -> Result<Self> {
        let c = config;
        check(c.lr >= 0.0, "newton", "lr", || format!("must be >= 0, got {}", c.lr))?;
        check(c.damping >= 0.0, "newton", "damping", || format!("must be >= 0, got {}", c.damping))?;
        check(c.cg_tol >= 0.0, "newton", "cg_tol", || format!("must be >= 0, got {}", c.cg_tol))?;
        Ok(Self { c })
    }

    /// The step scale `lr`.
    pub fn lr(&self) -> f64 {
        self.c.lr
    }

    /// Sets the step scale (what a schedule drives).
    ///
    /// # Errors
    /// A negative rate.
    pub fn set_lr(&mut self, lr: f64) -> Result<()> {
        check(lr >= 0.0, "newton", "lr", || format!("must be >= 0, got {lr}"))?;
        self.c.lr = lr;
        Ok(())
    }

    /// The Newton direction from a dense `hessian` `[n, n]`, and the damping used.
    ///
    /// # Errors
    /// [`OptimError::Length`] if shapes do not fit; [`OptimError::State`]
    /// if no damping makes H + λI positive definite (a non-finite Hessian).
    pub fn direction<T: Float>(&self, grad: &[T], hessian: &Tensor<T>) -> Result<(Vec<T>, f64)> {
        let n = grad.len();
        if hessian.shape() != [n, n] {
            return Err(OptimError::Length {
                key: 0,
                what: "Hessian rows and columns",
                got: hessian.numel(),
                expected: n * n,
            });
        }
        let h = hessian.contiguous().to_vec();
        let scale = (0..n).map(|i| h[i * n + i].as_f64().abs()).fold(1.0f64, f64::max);
        let mut damping = self.c.damping;
        for _ in 0..MAX_DAMPING_TRIES {
            let mut m = h.clone();
            for i in 0..n {
                m[i * n + i] += T::of(damping);
            }
            let m = Tensor::from_vec(m, &[n, n]).expect("n × n");
            match m.cholesky() {
                Ok(_) => {
                    let g = Tensor::from_slice(grad, &[n, 1]).expect("n × 1");
                    let d = m.solve(&g).map_err(|e| OptimError::State(format!("newton: {e}")))?;
                    return Ok((d.to_vec(), damping));
                }
                Err(TensorError::NotPositiveDefinite { .. }) => {
                    damping = if damping == 0.0 { 1e-8 * scale } else { damping * 10.0 };
                }
                Err(e) => return Err(OptimError::State(format!("newton: {e}"))),
            }
        }
        Err(OptimError::State(format!("newton: H + λI is not positive definite for any λ up to {damping:e}")))
    }

    /// One step θ ← θ − lr·(H + λI)⁻¹∇J from a dense Hessian.
    ///
    /// # Errors
    /// As [`Newton::direction`].
    pub fn step<T: Float>(&self, theta: &mut [T], grad: &[T], hessian: &Tensor<T>) -> Result<NewtonStep> {
        let (d, damping) = self.direction(grad, hessian)?;
        let lr = T::of(self.c.lr);
        theta.iter_mut().zip(&d).for_each(|(t, &d)| *t -= lr * d);
        Ok(NewtonStep { damping, cg_iterations: 0, negative_curvature: false })
    }

    /// One step from Hessian-vector products `hvp(v) = Hv` (conjugate
    /// gradient on (H + λI)d = ∇J, never forming H).
    ///
    /// # Panics
    /// If `hvp` returns a vector of another length.
    pub fn step_hvp<T: Float>(&self, theta: &mut [T], grad: &[T], mut hvp: impl FnMut(&[T]) -> Vec<T>) -> NewtonStep {
        let n = grad.len();
        let lambda = T::of(self.c.damping);
        let dot = |a: &[T], b: &[T]| a.iter().zip(b).fold(T::zero(), |s, (&x, &y)| s + x * y);
        let max_iter = if self.c.cg_max_iter == 0 { n.max(1) } else { self.c.cg_max_iter };
        let tol = T::of(self.c.cg_tol) * dot(grad, grad).sqrt();
        let mut d = vec![T::zero(); n];
        let mut r = grad.to_vec();
        let mut p = r.clone();
        let mut rr = dot(&r, &r);
        let (mut iterations, mut negative) = (0, false);
        while iterations < max_iter && rr.sqrt() > tol {
            let mut hp = hvp(&p);
            assert_eq!(hp.len(), n, "hvp returned {} values for {n} parameters", hp.len());
            hp.iter_mut().zip(&p).for_each(|(h, &p)| *h += lambda * p);
            let curvature = dot(&p, &hp);
            if curvature <= T::zero() {
                negative = true;
                if iterations == 0 {
                    d.copy_from_slice(grad);
                }
                break;
            }
            let alpha = rr / curvature;
            d.iter_mut().zip(&p).for_each(|(d, &p)| *d += alpha * p);
            r.iter_mut().zip(&hp).for_each(|(r, &h)| *r -= alpha * h);
            let rr_new = dot(&r, &r);
            let beta = rr_new / rr;
            p.iter_mut().zip(&r).for_each(|(p, &r)| *p = r + beta * *p);
            rr = rr_new;
            iterations += 1;
        }
        let lr = T::of(self.c.lr);
        theta.iter_mut().zip(&d).for_each(|(t, &d)| *t -= lr * d);
        NewtonStep { damping: self.c.damping, cg_iterations: iterations, negative_curvature: negative }
    }
}
