//! L-BFGS (Nocedal, 1980; Liu & Nocedal, 1989) with an optional
//! strong-Wolfe line search, following `torch.optim.LBFGS` step for step.

use crate::error::{Result, check};
use crate::platform::Float;

/// The hyper-parameters of [`Lbfgs`], PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LbfgsConfig {
    /// Step length scale (1).
    pub lr: f64,
    /// Iterations per [`Lbfgs::step`] (20).
    pub max_iter: usize,
    /// Function evaluations per step (`None`: max_iter·5/4).
    pub max_eval: Option<usize>,
    /// Stop when max|g| ≤ this (1e-7).
    pub tolerance_grad: f64,
    /// Stop when steps or loss changes fall below this (1e-9).
    pub tolerance_change: f64,
    /// Curvature pairs kept (100).
    pub history_size: usize,
    /// Strong-Wolfe line search (false: fixed steps of `lr`).
    pub strong_wolfe: bool,
}

impl Default for LbfgsConfig {
    fn default() -> Self {
        Self {
            lr: 1.0,
            max_iter: 20,
            max_eval: None,
            tolerance_grad: 1e-7,
            tolerance_change: 1e-9,
            history_size: 100,
            strong_wolfe: false,
        }
    }
}

/// L-BFGS in the closure form: each [`Lbfgs::step`] runs up to `max_iter`
/// iterations, calling `f(θ) → (loss, ∇loss)` as often as it needs. The
/// two-loop recursion over the last `history_size` pairs (s, y), the
/// initial Hessian scale sᵀy/yᵀy, the first step min(1, 1/‖g‖₁)·lr, the
/// strong-Wolfe search (c₁ = 10⁻⁴, c₂ = 0.9, cubic interpolation, 25
/// evaluations) and the stopping rules are PyTorch's, so trajectories agree
/// with `torch.optim.LBFGS` to rounding.
///
/// ```
/// use gradus_optim::{Lbfgs, LbfgsConfig};
/// let rosenbrock = |p: &[f64]| {
///     let (x, y) = (p[0], p[1]);
///     ((1.0 - x).powi(2) + 100.0 * (y - x * x).powi(2), vec![-2.0 * (1.0 - x) - 400.0 * x * (y - x * x), 200.0 * (y - x * x)])
/// };
/// let mut opt = Lbfgs::new(LbfgsConfig { strong_wolfe: true, max_iter: 100, ..Default::default() }).unwrap();
/// let mut p = vec![-1.2, 1.0];
/// opt.step(&mut p, rosenbrock);
/// assert!((p[0] - 1.0).abs() < 1e-4 && (p[1] - 1.0).abs() < 1e-4); // where PyTorch stops too
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Lbfgs<T> {
    c: LbfgsConfig,
    d: Vec<T>,
    t: f64,
    old_dirs: Vec<Vec<T>>,
    old_stps: Vec<Vec<T>>,
    ro: Vec<T>,
    h_diag: T,
    prev_flat_grad: Option<Vec<T>>,
    prev_loss: f64,
    n_iter: usize,
    func_evals: usize,
}

fn dot<T: Float>(a: &[T], b: &[T]) -> T {
    a.iter().zip(b).fold(T::zero(), |s, (&x, &y)| s + x * y)
}

fn abs_max<T: Float>(a: &[T]) -> f64 {
    a.iter().fold(0.0f64, |m, x| m.max(x.as_f64().abs()))
}

/// x + t·d, as `torch.add(x, d, alpha=t)` rounds it: one fused
/// multiply-add (ATen's `fmadd`).
fn along<T: Float>(x: &[T], t: f64, d: &[T]) -> Vec<T> {
    let t = T::of(t);
    x.iter().zip(d).map(|(&x, &d)| t.mul_add(d, x)).collect()
}

/// The minimiser of the cubic through (x1, f1, g1), (x2, f2, g2), clamped
/// to `bounds` (default: between the points); the midpoint when the cubic
/// has no real minimiser.
fn cubic_interpolate(x1: f64, f1: f64, g1: f64, x2: f64, f2: f64, g2: f64, bounds: Option<(f64, f64)>) -> f64 {
    let (lo, hi) = bounds.unwrap_or(if x1 <= x2 { (x1, x2) } else { (x2, x1) });
    let d1 = g1 + g2 - 3.0 * (f1 - f2) / (x1 - x2);
    let d2_square = d1 * d1 - g1 * g2;
    if d2_square >= 0.0 {
        let d2 = d2_square.sqrt();
        let min_pos = if x1 <= x2 {
            x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2.0 * d2))
        } else {
            x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2.0 * d2))
        };
        min_pos.max(lo).min(hi)
    } else {
        (lo + hi) / 2.0
    }
}

/// A point of the line search: step t, loss, gradient, directional derivative.
#[derive(Clone)]
struct Point<T> {
    t: f64,
    f: f64,
    g: Vec<T>,
    gtd: f64,
}

impl<T: Float> Lbfgs<T> {
    /// Validates `config`.
    ///
    /// # Errors
    /// A non-positive rate, zero iterations or history, or negative tolerances.
    pub fn new(config: LbfgsConfig) -> Result<Self> {
        let c = config;
        check(c.lr > 0.0, "lbfgs", "lr", || format!("must be positive, got {}", c.lr))?;
        check(c.max_iter > 0, "lbfgs", "max_iter", || "must be positive, got 0".into())?;
        check(c.history_size > 0, "lbfgs", "history_size", || "must be positive, got 0".into())?;
        check(c.tolerance_grad >= 0.0 && c.tolerance_change >= 0.0, "lbfgs", "tolerance_grad", || {
            "tolerances must be >= 0".into()
        })?;
        Ok(Self {
            c,
            d: Vec::new(),
            t: 0.0,
            old_dirs: Vec::new(),
            old_stps: Vec::new(),
            ro: Vec::new(),
            h_diag: T::one(),
            prev_flat_grad: None,
            prev_loss: 0.0,
            n_iter: 0,
            func_evals: 0,
        })
    }

    /// The rate `lr` (the first trial step of the line search, or the fixed step).
    pub fn lr(&self) -> f64 {
        self.c.lr
    }

    /// Sets the rate, as a schedule does between steps (PyTorch's L-BFGS
    /// reads its group's `lr` at each step).
    ///
    /// # Errors
    /// A non-positive rate.
    pub fn set_lr(&mut self, lr: f64) -> Result<()> {
        check(lr > 0.0, "lbfgs", "lr", || format!("must be positive, got {lr}"))?;
        self.c.lr = lr;
        Ok(())
    }

    /// Function evaluations so far.
    pub fn func_evals(&self) -> usize {
        self.func_evals
    }

    /// One optimisation step (up to `max_iter` iterations) of `x`, with
    /// `f(θ) = (loss, gradient)`; returns the loss at the starting point.
    ///
    /// # Panics
    /// If `f` returns a gradient of another length.
    pub fn step(&mut self, x: &mut [T], mut f: impl FnMut(&[T]) -> (f64, Vec<T>)) -> f64 {
        let c = self.c;
        let max_eval = c.max_eval.unwrap_or(c.max_iter * 5 / 4);
        let mut eval = |p: &[T]| {
            let (loss, g) = f(p);
            assert_eq!(g.len(), p.len(), "lbfgs: the gradient has {} values for {} parameters", g.len(), p.len());
            (loss, g)
        };
        let (orig_loss, mut flat_grad) = eval(x);
        let mut loss = orig_loss;
        let mut current_evals = 1;
        self.func_evals += 1;
        let mut opt_cond = abs_max(&flat_grad) <= c.tolerance_grad;
        if opt_cond {
            return orig_loss;
        }
        let mut n_iter = 0;
        while n_iter < c.max_iter {
            n_iter += 1;
            self.n_iter += 1;
            if self.n_iter == 1 {
                self.d = flat_grad.iter().map(|&g| -g).collect();
                self.old_dirs.clear();
                self.old_stps.clear();
                self.ro.clear();
                self.h_diag = T::one();
            } else {
                let prev = self.prev_flat_grad.as_ref().expect("set after the first iteration");
                let y: Vec<T> = flat_grad.iter().zip(prev).map(|(&a, &b)| a - b).collect();
                let s: Vec<T> = self.d.iter().map(|&d| d * T::of(self.t)).collect();
                let ys = dot(&y, &s);
                if ys > T::of(1e-10) {
                    if self.old_dirs.len() == c.history_size {
                        self.old_dirs.remove(0);
                        self.old_stps.remove(0);
                        self.ro.remove(0);
                    }
                    self.h_diag = ys / dot(&y, &y);
                    self.old_dirs.push(y);
                    self.old_stps.push(s);
                    self.ro.push(T::one() / ys);
                }
                // Two-loop recursion: d = −H·g.
                let k = self.old_dirs.len();
                let mut al = vec![T::zero(); k];
                let mut q: Vec<T> = flat_grad.iter().map(|&g| -g).collect();
                for i in (0..k).rev() {
                    al[i] = dot(&self.old_stps[i], &q) * self.ro[i];
                    q.iter_mut().zip(&self.old_dirs[i]).for_each(|(q, &y)| *q = (-al[i]).mul_add(y, *q));
                }
                let mut r: Vec<T> = q.iter().map(|&q| q * self.h_diag).collect();
                for i in 0..k {
                    let be = dot(&self.old_dirs[i], &r) * self.ro[i];
                    r.iter_mut().zip(&self.old_stps[i]).for_each(|(r, &s)| *r = (al[i] - be).mul_add(s, *r));
                }
                self.d = r;
            }
            self.prev_flat_grad = Some(flat_grad.clone());
            self.prev_loss = loss;
            let l1: f64 = flat_grad.iter().map(|g| g.as_f64().abs()).sum();
            self.t = if self.n_iter == 1 { (1.0f64).min(1.0 / l1) * c.lr } else { c.lr };
            let gtd = dot(&flat_grad, &self.d).as_f64();
            if gtd > -c.tolerance_change {
                break;
            }
            let ls_evals;
            if c.strong_wolfe {
                let start = Point { t: 0.0, f: loss, g: flat_grad.clone(), gtd };
                let (found, evals) = strong_wolfe(&mut eval, x, self.t, &self.d, start, c.tolerance_change);
                ls_evals = evals;
                loss = found.f;
                flat_grad = found.g;
                self.t = found.t;
                let moved = along(x, self.t, &self.d);
                x.copy_from_slice(&moved);
                opt_cond = abs_max(&flat_grad) <= c.tolerance_grad;
            } else {
                let moved = along(x, self.t, &self.d);
                x.copy_from_slice(&moved);
                if n_iter != c.max_iter {
                    (loss, flat_grad) = eval(x);
                    opt_cond = abs_max(&flat_grad) <= c.tolerance_grad;
                    ls_evals = 1;
                } else {
                    ls_evals = 0;
                }
            }
            current_evals += ls_evals;
            self.func_evals += ls_evals;
            if n_iter == c.max_iter || current_evals >= max_eval || opt_cond {
                break;
            }
            if abs_max(&self.d) * self.t.abs() <= c.tolerance_change
                || (loss - self.prev_loss).abs() < c.tolerance_change
            {
                break;
            }
        }
        orig_loss
    }
}

/// The strong-Wolfe line search (bracketing, then zoom with cubic
/// interpolation) along `d` from `x`, starting at step `t`; returns the
/// accepted point and the evaluations spent.
fn strong_wolfe<T: Float>(
    eval: &mut impl FnMut(&[T]) -> (f64, Vec<T>),
    x: &[T],
    mut t: f64,
    d: &[T],
    start: Point<T>,
    tolerance_change: f64,
) -> (Point<T>, usize) {
    const C1: f64 = 1e-4;
    const C2: f64 = 0.9;
    const MAX_LS: usize = 25;
    let d_norm = abs_max(d);
    let (f0, gtd0) = (start.f, start.gtd);
    let mut at = |t: f64| {
        let (f, g) = eval(&along(x, t, d));
        let gtd = dot(&g, d).as_f64();
        Point { t, f, g, gtd }
    };
    let mut new = at(t);
    let mut evals = 1;
    let mut prev = start.clone();
    let mut done = false;
    let mut ls_iter = 0;
    let mut bracket: Vec<Point<T>> = Vec::new();
    while ls_iter < MAX_LS {
        if new.f > f0 + C1 * t * gtd0 || (ls_iter > 1 && new.f >= prev.f) {
            bracket = vec![prev.clone(), new.clone()];
            break;
        }
        if new.gtd.abs() <= -C2 * gtd0 {
            bracket = vec![new.clone()];
            done = true;
            break;
        }
        if new.gtd >= 0.0 {
            bracket = vec![prev.clone(), new.clone()];
            break;
        }
        let (min_step, max_step) = (t + 0.01 * (t - prev.t), t * 10.0);
        let next = cubic_interpolate(prev.t, prev.f, prev.gtd, t, new.f, new.gtd, Some((min_step, max_step)));
        prev = new;
        t = next;
        new = at(t);
        evals += 1;
        ls_iter += 1;
    }
    if ls_iter == MAX_LS {
        bracket = vec![Point { t: 0.0, ..start.clone() }, new.clone()];
    }
    let (mut low, mut high) = if bracket.len() == 1 || bracket[0].f <= bracket[1].f { (0, 1) } else { (1, 0) };
    let mut insufficient = false;
    while !done && ls_iter < MAX_LS {
        if (bracket[1].t - bracket[0].t).abs() * d_norm < tolerance_change {
            break;
        }
        let (b0, b1) = (&bracket[0], &bracket[1]);
        let mut t = cubic_interpolate(b0.t, b0.f, b0.gtd, b1.t, b1.f, b1.gtd, None);
        let (bmax, bmin) = (b0.t.max(b1.t), b0.t.min(b1.t));
        let eps = 0.1 * (bmax - bmin);
        if (bmax - t).min(t - bmin) < eps {
            if insufficient || t >= bmax || t <= bmin {
                t = if (t - bmax).abs() < (t - bmin).abs() { bmax - eps } else { bmin + eps };
                insufficient = false;
            } else {
                insufficient = true;
            }
        } else {
            insufficient = false;
        }
        let p = at(t);
        evals += 1;
        ls_iter += 1;
        if p.f > f0 + C1 * t * gtd0 || p.f >= bracket[low].f {
            bracket[high] = p;
            (low, high) = if bracket[0].f <= bracket[1].f { (0, 1) } else { (1, 0) };
        } else {
            if p.gtd.abs() <= -C2 * gtd0 {
                done = true;
            } else if p.gtd * (bracket[high].t - bracket[low].t) >= 0.0 {
                bracket[high] = bracket[low].clone();
            }
            bracket[low] = p;
        }
    }
    (bracket.swap_remove(low.min(bracket.len() - 1)), evals)
}
