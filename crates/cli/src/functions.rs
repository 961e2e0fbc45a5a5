//! The built-in test functions of `gradus trace` and `gradus hessian`
//! (docs/cli.md), written with differentiable ops so gradients and Hessians come
//! from the tape.

use gradus::autodiff::Var;
use gradus::tensor::Tensor;

/// A test function: its dimension and f(θ) on a `[n]` variable.
pub struct Function {
    /// Its name on the command line.
    pub name: &'static str,
    /// The dimension n.
    pub dim: usize,
    /// f(θ).
    pub f: fn(&Var<f64>) -> Var<f64>,
    /// The plot's window (x range, y range).
    pub window: ((f64, f64), (f64, f64)),
    /// Its minima (marked on plots).
    pub minima: &'static [(f64, f64)],
}

fn at(v: &Var<f64>, i: usize) -> Var<f64> {
    v.narrow(0, i, 1).sum(.., false)
}

fn square(v: &Var<f64>) -> Var<f64> {
    at(v, 0).square()
}

fn rosenbrock(v: &Var<f64>) -> Var<f64> {
    let (x, y) = (at(v, 0), at(v, 1));
    &(1.0 - &x).square() + &(&y - &x.square()).square().mul_scalar(100.0)
}

fn himmelblau(v: &Var<f64>) -> Var<f64> {
    let (x, y) = (at(v, 0), at(v, 1));
    &(&(&x.square() + &y) - 11.0).square() + &(&(&x + &y.square()) - 7.0).square()
}

/// ½θᵀAθ with A = R·diag(1, 100)·Rᵀ, R the rotation by 30°.
fn ravine(v: &Var<f64>) -> Var<f64> {
    let (c, s) = (30f64.to_radians().cos(), 30f64.to_radians().sin());
    let a = Tensor::from_vec(vec![c * c + 100.0 * s * s, -99.0 * c * s, -99.0 * c * s, s * s + 100.0 * c * c], &[2, 2])
        .expect("2 × 2");
    let col = v.reshape(&[2, 1]);
    col.t().matmul(&Var::constant(a)).matmul(&col).sum(.., false).mul_scalar(0.5)
}

fn saddle(v: &Var<f64>) -> Var<f64> {
    &at(v, 0).square() - &at(v, 1).square()
}

/// Every built-in function.
pub const FUNCTIONS: [Function; 5] = [
    Function { name: "square", dim: 1, f: square, window: ((-12.0, 12.0), (0.0, 0.0)), minima: &[(0.0, 0.0)] },
    Function { name: "rosenbrock", dim: 2, f: rosenbrock, window: ((-2.0, 2.0), (-1.0, 3.0)), minima: &[(1.0, 1.0)] },
    Function {
        name: "himmelblau",
        dim: 2,
        f: himmelblau,
        window: ((-5.0, 5.0), (-5.0, 5.0)),
        minima: &[(3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)],
    },
    Function { name: "ravine", dim: 2, f: ravine, window: ((-5.0, 5.0), (-4.0, 4.0)), minima: &[(0.0, 0.0)] },
    // The origin is a saddle point; the function has no minimum.
    Function { name: "saddle", dim: 2, f: saddle, window: ((-2.0, 2.0), (-2.0, 2.0)), minima: &[] },
];

/// The function called `name`.
///
/// # Errors
/// A message listing the accepted names.
pub fn lookup(name: &str) -> Result<&'static Function, String> {
    FUNCTIONS.iter().find(|f| f.name == name).ok_or_else(|| {
        format!(
            "unknown function `{name}`; accepted: {}",
            FUNCTIONS.iter().map(|f| f.name).collect::<Vec<_>>().join(", ")
        )
    })
}

/// Parses `-1.5,2` into a point of dimension `dim`.
///
/// # Errors
/// A message naming the bad number or the wrong dimension.
pub fn point(text: &str, dim: usize, what: &str) -> Result<Vec<f64>, String> {
    let p: Vec<f64> = text
        .split(',')
        .map(|s| crate::finite(s.trim()).map_err(|e| format!("{what}: {e}")))
        .collect::<Result<_, _>>()?;
    if p.len() != dim {
        return Err(format!("{what}: {} has {} coordinates, the function takes {dim}", text, p.len()));
    }
    Ok(p)
}
