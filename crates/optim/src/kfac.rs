//! K-FAC (Martens & Grosse 2015; Grosse & Martens 2016 for convolutions):
//! each linear or convolution layer's curvature block approximated as a
//! Kronecker product G ⊗ A of an output-side and an input-side factor,
//! whose damped inverses precondition the gradient from both sides, then
//! SGD with momentum. The factors come from the caller
//! ([`Estimate::Kronecker`], every `update_freq` steps); a parameter that
//! never gets them (a normalisation scale, an embedding) steps by SGD with
//! momentum alone.

use crate::curvature::{CurvatureKind, CurvatureRequest, Estimate, kronecker_sides};
use crate::error::{Result, check};
use crate::platform::Float;
use crate::rule::{Member, State, UpdateRule};
use gradus_tensor::Tensor;

/// The hyper-parameters of [`Kfac`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KfacConfig {
    /// The step size.
    pub lr: f64,
    /// λ, the Tikhonov damping: the factors' inverses are of A + π√λ·I and
    /// G + (√λ/π)·I, π balancing the two (Martens & Grosse §6.3).
    pub damping: f64,
    /// SGD momentum on the preconditioned gradient (PyTorch's buffer:
    /// b ← μb + d, θ ← θ − lr·b).
    pub momentum: f64,
    /// Every how many steps the factors are measured, averaged in and
    /// inverted.
    pub update_freq: usize,
    /// The factors' running-average decay: F ← ema·F + (1 − ema)·F̂ (the
    /// first estimate is taken whole).
    pub ema: f64,
    /// KL clipping: the preconditioned directions are scaled by
    /// ν = min(1, √(kl_clip / (lr²·Σ d·g))) over the layers K-FAC
    /// preconditions, so one step's predicted change of the model's
    /// output distribution stays small (0: off).
    pub kl_clip: f64,
}

impl Default for KfacConfig {
    fn default() -> Self {
        Self { lr: 0.01, damping: 1e-3, momentum: 0.9, update_freq: 10, ema: 0.95, kl_clip: 1e-3 }
    }
}

/// K-FAC: natural-gradient steps with a Kronecker-factored Fisher per layer.
/// A layer's weight, read as a matrix `[out, rest]`, has the curvature
/// block G ⊗ A (A = E(aaᵀ) over its inputs or unfolded patches, G = the
/// expected outer product of the gradients at its outputs, under the
/// model's own predictions); its bias has G with A the number of positions
/// (1 for a plain linear layer). The step's direction is
/// (G + (√λ/π)I)⁻¹·∇W·(A + π√λ·I)⁻¹, inverted every `update_freq` steps
/// from running averages of the factors, scaled down together when their
/// step would move the model's predictions too far (KL clipping, as the
/// common PyTorch implementations), followed by SGD with momentum.
/// State: `momentum_buffer`, `a_factor`, `g_factor`, `a_inverse`,
/// `g_inverse`, and the scalar `factor_updates`.
///
/// ```
/// use gradus_optim::{Estimate, Kfac, KfacConfig, Optimizer};
/// let cfg = KfacConfig { lr: 1.0, damping: 1e-24, momentum: 0.0, update_freq: 1, ema: 0.95, kl_clip: 0.0 };
/// let mut opt = Optimizer::<f64>::new(Kfac::new(cfg).unwrap());
/// // A 1 × 2 weight with A = diag(4, 1) and G = 2: the step is ∇W·A⁻¹/2.
/// let mut w = vec![1.0, 1.0];
/// opt.observe_curvature(0, &[1, 2], &w, Estimate::Kronecker { a: &[4.0, 0.0, 0.0, 1.0], g: &[2.0] }).unwrap();
/// opt.step([(0, &[1usize, 2][..], &mut w[..], Some(&[8.0, 2.0][..]))]).unwrap();
/// assert!((w[0] - 0.0).abs() < 1e-9 && (w[1] - 0.0).abs() < 1e-9);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Kfac {
    c: KfacConfig,
}

impl Kfac {
    /// Validates `config`.
    ///
    /// # Errors
    /// A negative rate or momentum, a damping that is not positive, an
    /// `ema` outside [0, 1), or `update_freq` = 0.
    pub fn new(config: KfacConfig) -> Result<Self> {
        let c = config;
        check(c.lr >= 0.0, "kfac", "lr", || format!("must be >= 0, got {}", c.lr))?;
        check(c.damping > 0.0 && c.damping.is_finite(), "kfac", "damping", || {
            format!("must be positive (it keeps the factors invertible), got {}", c.damping)
        })?;
        check(c.momentum >= 0.0, "kfac", "momentum", || format!("must be >= 0, got {}", c.momentum))?;
        check((0.0..1.0).contains(&c.ema), "kfac", "ema", || format!("must be in [0, 1), got {}", c.ema))?;
        check(c.update_freq >= 1, "kfac", "update_freq", || format!("must be at least 1, got {}", c.update_freq))?;
        check(c.kl_clip >= 0.0 && c.kl_clip.is_finite(), "kfac", "kl_clip", || {
            format!("must be >= 0 (0 turns it off), got {}", c.kl_clip)
        })?;
        Ok(Self { c })
    }
}

/// The inverse of the symmetric `m` (n × n) + `shift`·I, in f64.
fn damped_inverse<T: Float>(m: &[T], n: usize, shift: f64) -> Vec<T> {
    let mut d: Vec<f64> = m.iter().map(|v| v.as_f64()).collect();
    (0..n).for_each(|i| d[i * n + i] += shift);
    let d = Tensor::from_vec(d, &[n, n]).expect("n × n");
    let inverse = d.solve(&Tensor::eye(n)).map(|t| t.to_vec());
    // A damped PSD matrix is invertible; a non-finite factor is not, and
    // then the step falls back to the gradient (the identity).
    let inverse = inverse.ok().filter(|v| v.iter().all(|x| x.is_finite()));
    let inverse = inverse.unwrap_or_else(|| (0..n * n).map(|i| if i % (n + 1) == 0 { 1.0 } else { 0.0 }).collect());
    inverse.into_iter().map(T::of).collect()
}

fn trace<T: Float>(m: &[T], n: usize) -> f64 {
    (0..n).map(|i| m[i * n + i].as_f64()).sum()
}

impl<T: Float> UpdateRule<T> for Kfac {
    fn name(&self) -> &'static str {
        "kfac"
    }

    fn default_lr(&self) -> f64 {
        self.c.lr
    }

    fn slots(&self, _shape: &[usize]) -> &'static [&'static str] {
        &["momentum_buffer", "a_factor", "g_factor", "a_inverse", "g_inverse"]
    }

    fn scalars(&self, _shape: &[usize]) -> &'static [&'static str] {
        &["factor_updates"]
    }

    fn init(&self, _lr: f64, shape: &[usize]) -> State<T> {
        let (out, rest) = kronecker_sides(shape);
        let zeros = |n: usize| crate::platform::filled_vec(n, T::zero());
        let slots = vec![zeros(out * rest), zeros(rest * rest), zeros(out * out), zeros(rest * rest), zeros(out * out)];
        State { shape: shape.to_vec(), step: 0, slots, scalars: vec![0.0] }
    }

    fn curvature_request(&self) -> Option<CurvatureRequest> {
        Some(CurvatureRequest { kind: CurvatureKind::Kronecker, every: self.c.update_freq })
    }

    fn observe_curvature(&self, state: &mut State<T>, estimate: Estimate<'_, T>) {
        let Estimate::Kronecker { a, g } = estimate else { return };
        let (out, rest) = kronecker_sides(&state.shape);
        let first = state.scalars[0] == 0.0;
        let (keep, take) = if first { (T::zero(), T::one()) } else { (T::of(self.c.ema), T::of(1.0 - self.c.ema)) };
        let [_, fa, fg, ia, ig] = state.slots_mut::<5>();
        fa.iter_mut().zip(a).for_each(|(f, &e)| *f = keep * *f + take * e);
        fg.iter_mut().zip(g).for_each(|(f, &e)| *f = keep * *f + take * e);
        // Factored Tikhonov damping: π² = (tr A / rest) / (tr G / out).
        let (ta, tg) = (trace(fa, rest) / rest as f64, trace(fg, out) / out as f64);
        let pi = (ta / tg).sqrt();
        let pi = if pi.is_finite() && pi > 0.0 { pi } else { 1.0 };
        let root = self.c.damping.sqrt();
        ia.copy_from_slice(&damped_inverse(fa, rest, pi * root));
        ig.copy_from_slice(&damped_inverse(fg, out, root / pi));
        state.scalars[0] += 1.0;
    }

    fn update(&self, lr: f64, param: &mut [T], grad: &[T], state: &mut State<T>) {
        self.update_group(lr, &mut [Member { param, grad, state }]);
    }

    /// KL clipping scales every preconditioned direction by one factor, so
    /// the group steps together.
    fn couples(&self) -> bool {
        true
    }

    fn update_group(&self, lr: f64, members: &mut [Member<'_, T>]) {
        // Each member's direction, and whether K-FAC preconditioned it.
        let directions: Vec<(Vec<T>, bool)> = members
            .iter_mut()
            .map(|m| {
                let (out, rest) = kronecker_sides(&m.state.shape);
                if m.state.scalars[0] == 0.0 {
                    return (m.grad.to_vec(), false);
                }
                let [_, _, _, ia, ig] = m.state.slots_mut::<5>();
                let g = Tensor::from_slice(m.grad, &[out, rest]).expect("the parameter's matrix");
                let ia = Tensor::from_slice(ia, &[rest, rest]).expect("rest × rest");
                let ig = Tensor::from_slice(ig, &[out, out]).expect("out × out");
                (ig.matmul(&g).matmul(&ia).to_vec(), true)
            })
            .collect();
        // KL clipping: the preconditioned step's quadratic model of the KL
        // divergence, lr²·Σ d·g, held at kl_clip.
        let vg: f64 = members
            .iter()
            .zip(&directions)
            .filter(|(_, (_, pre))| *pre)
            .map(|(m, (d, _))| d.iter().zip(m.grad).map(|(d, g)| d.as_f64() * g.as_f64()).sum::<f64>())
            .sum::<f64>()
            * lr
            * lr;
        let nu = if self.c.kl_clip > 0.0 && vg > 0.0 { (self.c.kl_clip / vg).sqrt().min(1.0) } else { 1.0 };
        let (mu, lr_t, nu) = (T::of(self.c.momentum), T::of(lr), T::of(nu));
        for (m, (d, pre)) in members.iter_mut().zip(directions) {
            let first = m.state.step == 0;
            m.state.step += 1;
            let scale = if pre { nu } else { T::one() };
            let [buf, ..] = m.state.slots_mut::<5>();
            for ((p, b), d) in m.param.iter_mut().zip(buf.iter_mut()).zip(d) {
                // PyTorch's SGD buffer: the first step takes the direction whole.
                let d = scale * d;
                *b = if first { d } else { mu * *b + d };
                *p -= lr_t * *b;
            }
        }
    }

    fn momentum(&self) -> Option<f64> {
        Some(self.c.momentum)
    }

    fn set_momentum(&mut self, momentum: f64) -> bool {
        self.c.momentum = momentum;
        true
    }
}
