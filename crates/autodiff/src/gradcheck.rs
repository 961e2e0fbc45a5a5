//! Gradient checking: analytic Jacobians from vector–Jacobian products
//! against central differences (f(θ + εeᵢ) − f(θ − εeᵢ)) / 2ε in f64
//! at first and second order, with PyTorch's defaults.

use crate::{GradOptions, Result, Tape, Var, grad, no_grad};
use gradus_tensor::Tensor;
use rand::{Rng, SeedableRng};

/// Tolerances and step of a check (PyTorch's `gradcheck` defaults).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    /// Central-difference step.
    pub eps: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Relative tolerance.
    pub rtol: f64,
}

impl Default for Tolerance {
    fn default() -> Self {
        Self { eps: 1e-6, atol: 1e-5, rtol: 1e-3 }
    }
}

/// The outcome of a check: the worst element and whether all passed.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// Whether every element is within tolerance.
    pub passed: bool,
    /// Largest |analytic − numerical|.
    pub max_abs_err: f64,
    /// Largest |analytic − numerical| / max(|numerical|, tiny).
    pub max_rel_err: f64,
    /// The worst element: (input index, input element, output element,
    /// analytic value, numerical value).
    pub worst: Option<(usize, usize, usize, f64, f64)>,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (max abs err {:.3e}, max rel err {:.3e})",
            if self.passed { "pass" } else { "FAIL" },
            self.max_abs_err,
            self.max_rel_err
        )?;
        if let Some((input, elem, out, a, n)) = self.worst {
            write!(f, "; worst: ∂out[{out}]/∂in{input}[{elem}] analytic {a:.10e}, numerical {n:.10e}")?;
        }
        Ok(())
    }
}

/// A function of several tensors, recorded on whatever tape its inputs are.
pub type Function<'a> = dyn Fn(&[Var<f64>]) -> Var<f64> + 'a;

/// `f` at `inputs`, recorded on a fresh tape (the function may itself take
/// gradients, as the one `gradgradcheck` differentiates does).
fn evaluate(f: &Function<'_>, inputs: &[Tensor<f64>]) -> Vec<f64> {
    let tape = Tape::new();
    let vars: Vec<Var<f64>> = inputs.iter().map(|t| tape.leaf(t.clone())).collect();
    f(&vars).value().to_vec()
}

/// The Jacobian ∂f/∂inputs by central differences: one matrix per input,
/// `[output element][input element]`.
pub fn numerical_jacobian(f: &Function<'_>, inputs: &[Tensor<f64>], eps: f64) -> Vec<Vec<Vec<f64>>> {
    let out_len = evaluate(f, inputs).len();
    inputs
        .iter()
        .enumerate()
        .map(|(k, input)| {
            let base = input.to_vec();
            let mut columns = vec![vec![0.0; base.len()]; out_len];
            for j in 0..base.len() {
                let shifted = |delta: f64| {
                    let mut v = base.clone();
                    v[j] += delta;
                    let mut all = inputs.to_vec();
                    all[k] = Tensor::from_vec(v, input.shape()).expect("same shape");
                    evaluate(f, &all)
                };
                let (plus, minus) = (shifted(eps), shifted(-eps));
                for i in 0..out_len {
                    columns[i][j] = (plus[i] - minus[i]) / (2.0 * eps);
                }
            }
            columns
        })
        .collect()
}

/// The Jacobian from the tape, one vector–Jacobian product per output element.
///
/// # Errors
/// If `f`'s output does not depend on the inputs at all.
pub fn analytic_jacobian(f: &Function<'_>, inputs: &[Tensor<f64>]) -> Result<Vec<Vec<Vec<f64>>>> {
    let tape = Tape::new();
    let vars: Vec<Var<f64>> = inputs.iter().map(|t| tape.leaf(t.clone())).collect();
    let out = f(&vars).flatten();
    let refs: Vec<&Var<f64>> = vars.iter().collect();
    let m = out.value().numel();
    let matrices = crate::derivatives::vjp_rows(&out, &refs)?;
    Ok(matrices
        .iter()
        .map(|jac| {
            let (flat, n) = (jac.to_vec(), jac.shape()[1]);
            (0..m).map(|i| flat[i * n..(i + 1) * n].to_vec()).collect()
        })
        .collect())
}

fn compare(analytic: &[Vec<Vec<f64>>], numerical: &[Vec<Vec<f64>>], tol: Tolerance) -> Report {
    let mut report = Report { passed: true, max_abs_err: 0.0, max_rel_err: 0.0, worst: None };
    // The worst element: the one furthest past its tolerance if any fails,
    // else the one with the largest absolute error.
    let (mut worst_excess, mut largest) = (f64::NEG_INFINITY, None);
    for (k, (a_in, n_in)) in analytic.iter().zip(numerical).enumerate() {
        for (i, (a_row, n_row)) in a_in.iter().zip(n_in).enumerate() {
            for (j, (&a, &n)) in a_row.iter().zip(n_row).enumerate() {
                let abs = (a - n).abs();
                let rel = abs / n.abs().max(f64::MIN_POSITIVE);
                let ok = abs <= tol.atol + tol.rtol * n.abs() && a.is_finite() == n.is_finite();
                report.passed &= ok;
                report.max_abs_err = report.max_abs_err.max(abs);
                report.max_rel_err = report.max_rel_err.max(if abs == 0.0 { 0.0 } else { rel });
                let excess = if ok { f64::NEG_INFINITY } else { abs - (tol.atol + tol.rtol * n.abs()) };
                if !ok && (excess > worst_excess || abs.is_nan()) {
                    worst_excess = excess;
                    report.worst = Some((k, j, i, a, n));
                }
                if largest.is_none_or(|(_, _, _, la, ln): (usize, usize, usize, f64, f64)| abs > (la - ln).abs()) {
                    largest = Some((k, j, i, a, n));
                }
            }
        }
    }
    if report.passed {
        report.worst = largest;
    }
    report
}

/// Checks `f`'s first derivatives at `inputs`: analytic against numerical.
///
/// # Errors
/// If the backward pass fails.
///
/// # Examples
/// ```
/// use gradus_autodiff::gradcheck::{Tolerance, gradcheck};
/// use gradus_tensor::Tensor;
/// let x = Tensor::from_vec(vec![0.3f64, -1.2, 2.0], &[3]).unwrap();
/// let report = gradcheck(&|v| v[0].tanh().mul(&v[0]).sum(.., false), &[x], Tolerance::default()).unwrap();
/// assert!(report.passed, "{report}");
/// ```
pub fn gradcheck(f: &Function<'_>, inputs: &[Tensor<f64>], tol: Tolerance) -> Result<Report> {
    let analytic = analytic_jacobian(f, inputs)?;
    Ok(compare(&analytic, &numerical_jacobian(f, inputs, tol.eps), tol))
}

/// Checks `f`'s second derivatives: gradcheck of the function
/// inputs ↦ ∇(vᵀ f(inputs)) recorded with `create_graph`, for a fixed random v.
///
/// # Errors
/// If a backward pass fails.
pub fn gradgradcheck(f: &Function<'_>, inputs: &[Tensor<f64>], tol: Tolerance, seed: u64) -> Result<Report> {
    let out_shape = no_grad(|| {
        let vars: Vec<Var<f64>> = inputs.iter().cloned().map(Var::constant).collect();
        f(&vars).shape().to_vec()
    });
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let v = Tensor::<f64>::uniform(&out_shape, -1.0, 1.0, &mut rng);
    let gradient = move |vars: &[Var<f64>]| -> Var<f64> {
        let out = f(vars);
        let weighted = out.mul(&Var::constant(v.clone())).sum(.., false);
        if !weighted.requires_grad() {
            return Var::constant(Tensor::zeros(&[inputs.iter().map(Tensor::numel).sum()]));
        }
        let refs: Vec<&Var<f64>> = vars.iter().collect();
        let opts = GradOptions { create_graph: true, allow_unused: true, ..Default::default() };
        let grads = grad(&[&weighted], None, &refs, opts).expect("first-order backward");
        let parts: Vec<Var<f64>> = grads
            .into_iter()
            .zip(vars)
            .map(|(g, x)| g.unwrap_or_else(|| Var::constant(Tensor::zeros(x.shape()))).flatten())
            .collect();
        Var::concat(&parts, 0)
    };
    gradcheck(&gradient, inputs, tol)
}

/// Fast mode: compares uᵀ J v analytically and numerically for random u, v
/// (one backward pass and two evaluations), as PyTorch's `fast_mode`.
///
/// # Errors
/// If the backward pass fails.
pub fn gradcheck_fast(f: &Function<'_>, inputs: &[Tensor<f64>], tol: Tolerance, seed: u64) -> Result<Report> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let tape = Tape::new();
    let vars: Vec<Var<f64>> = inputs.iter().map(|t| tape.leaf(t.clone())).collect();
    let out = f(&vars);
    let u = Tensor::<f64>::uniform(out.shape(), -1.0, 1.0, &mut rng);
    let dirs: Vec<Tensor<f64>> = inputs.iter().map(|t| Tensor::uniform(t.shape(), -1.0, 1.0, &mut rng)).collect();
    let refs: Vec<&Var<f64>> = vars.iter().collect();
    let opts = GradOptions { allow_unused: true, ..Default::default() };
    let analytic: f64 = if out.requires_grad() {
        let grads = grad(&[&out], Some(std::slice::from_ref(&u)), &refs, opts)?;
        grads.iter().zip(&dirs).map(|(g, d)| g.as_ref().map_or(0.0, |g| (g.value() * d).sum(.., false).item())).sum()
    } else {
        0.0
    };
    let shifted = |sign: f64| {
        let moved: Vec<Tensor<f64>> = inputs.iter().zip(&dirs).map(|(x, d)| x + &(d * (sign * tol.eps))).collect();
        evaluate(f, &moved)
    };
    let (plus, minus) = (shifted(1.0), shifted(-1.0));
    let numerical: f64 =
        u.to_vec().iter().zip(plus.iter().zip(&minus)).map(|(w, (p, m))| w * (p - m) / (2.0 * tol.eps)).sum();
    Ok(compare(&[vec![vec![analytic]]], &[vec![vec![numerical]]], tol))
}

/// Random inputs of `shapes` from `seed`, each element in `±[low, high]`
/// with a random sign (`low > 0` keeps them away from the kinks at 0 of
/// relu and abs; continuous values make ties of max/min unlikely).
pub fn random_inputs(shapes: &[Vec<usize>], low: f64, high: f64, positive: bool, seed: u64) -> Vec<Tensor<f64>> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    shapes
        .iter()
        .map(|shape| {
            let n: usize = shape.iter().product();
            let data = (0..n)
                .map(|_| {
                    let m = rng.random_range(low..high);
                    if positive || rng.random_bool(0.5) { m } else { -m }
                })
                .collect();
            Tensor::from_vec(data, shape).expect("length matches")
        })
        .collect()
}
