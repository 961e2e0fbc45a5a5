//! The spectrum of a symmetric operator `v ↦ Av` known only through its
//! products (for a network: Hessian-vector products, two backward passes
//! each, never the matrix): the extreme eigenvalues by Lanczos with full
//! reorthogonalisation, the trace by Hutchinson's estimator, and the
//! spectral density by stochastic Lanczos quadrature.
//!
//! Everything here is linear algebra over a closure `&[T] -> Vec<T>`, so it
//! works for any differentiable function, and for a plain matrix in tests.
//! Vectors are kept in `T`; inner products and the tridiagonal matrix are
//! accumulated in f64.

use gradus_tensor::{Float, Tensor};
use rand::Rng;

/// How far [`lanczos`] runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LanczosOptions {
    /// How many of the largest eigenvalues are wanted.
    pub top: usize,
    /// At most this many operator products (Lanczos steps); the run also
    /// stops at the operator's dimension, where it is exact.
    pub max_steps: usize,
    /// Stop once every wanted Ritz pair's residual ‖Ay − θy‖ (read off the
    /// tridiagonal matrix, `β·|s_last|`) is at most `tol·max|θ|`.
    pub tol: f64,
}

impl Default for LanczosOptions {
    /// The largest eigenvalue, to a residual of 1e-6 relative, within 100
    /// products.
    fn default() -> Self {
        LanczosOptions { top: 1, max_steps: 100, tol: 1e-6 }
    }
}

/// What [`lanczos`] found.
#[derive(Clone, Debug, PartialEq)]
pub struct Ritz<T> {
    /// The largest eigenvalue estimates, descending (at most `top`, fewer
    /// when the operator has fewer dimensions).
    pub values: Vec<f64>,
    /// Their unit eigenvector estimates, in the same order.
    pub vectors: Vec<Vec<T>>,
    /// Each pair's residual bound `β·|s_last|`.
    pub residuals: Vec<f64>,
    /// Operator products made (one per Lanczos step).
    pub products: usize,
    /// Whether every pair met the tolerance (or the run was exact: it
    /// reached the dimension or an invariant subspace).
    pub converged: bool,
    /// How many of the values, from the largest, met the tolerance (all of
    /// them when the run was exact); the rest are estimates, not
    /// eigenvalues.
    pub converged_count: usize,
}

/// One probe's Gauss quadrature of the spectral measure: the Ritz values
/// (`nodes`, ascending) of a Lanczos run from a unit start vector `q`, and
/// the squared first components of their eigenvectors (`weights`, summing
/// to 1), so that `qᵀ f(A) q ≈ Σ weights[j]·f(nodes[j])`.
#[derive(Clone, Debug, PartialEq)]
pub struct Quadrature {
    /// Ritz values, ascending.
    pub nodes: Vec<f64>,
    /// Their weights (sum 1).
    pub weights: Vec<f64>,
}

/// A smoothed spectral density on an even grid.
#[derive(Clone, Debug, PartialEq)]
pub struct Density {
    /// The grid points, ascending, evenly spaced.
    pub grid: Vec<f64>,
    /// The density at each point (integrates to 1 over the grid, up to the
    /// Gaussian tails beyond its ends, which are 5 kernel widths out).
    pub values: Vec<f64>,
    /// The kernel's variance.
    pub variance: f64,
}

/// Hutchinson's estimate of a trace: the mean of `vᵀAv` over Rademacher
/// probes, with its standard error (sample standard deviation / √probes).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TraceEstimate {
    /// The estimate.
    pub trace: f64,
    /// Its standard error (NaN with a single probe).
    pub stderr: f64,
    /// Probes used (one operator product each).
    pub probes: usize,
}

use gradus_tensor::dot_f64 as dot;

/// `y -= c·x`.
fn axpy<T: Float>(y: &mut [T], c: f64, x: &[T]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y = T::of(y.as_f64() - c * x.as_f64());
    }
}

/// The eigenvalues (ascending) and eigenvectors (`s[i][j]`: component `i`
/// of eigenvector `j`) of the symmetric tridiagonal matrix with diagonal
/// `alpha` and off-diagonal `beta`.
fn tridiagonal_eigen(alpha: &[f64], beta: &[f64]) -> (Vec<f64>, Vec<Vec<f64>>) {
    let m = alpha.len();
    let mut t = vec![0.0; m * m];
    for i in 0..m {
        t[i * m + i] = alpha[i];
        if i + 1 < m {
            t[i * m + i + 1] = beta[i];
            t[(i + 1) * m + i] = beta[i];
        }
    }
    let t = Tensor::from_vec(t, &[m, m]).expect("square");
    // A finite symmetric tridiagonal matrix always has an eigendecomposition;
    // a non-finite one (an operator that returned NaN) gives NaN values.
    match t.eigh() {
        Ok((values, vectors)) => {
            let v = vectors.contiguous().to_vec();
            (values.to_vec(), (0..m).map(|i| v[i * m..(i + 1) * m].to_vec()).collect())
        }
        Err(_) => (vec![f64::NAN; m], vec![vec![f64::NAN; m]; m]),
    }
}

/// The Lanczos recurrence from `start`, with every new vector
/// reorthogonalised twice against all earlier ones ("twice is enough"),
/// calling `stop(alpha, beta, beta_next)` after each step (one product
/// each).
fn recurrence<T: Float, E>(
    start: &[T],
    max_steps: usize,
    apply: &mut impl FnMut(&[T]) -> Result<Vec<T>, E>,
    stop: &mut impl FnMut(&[f64], &[f64], f64) -> bool,
) -> Result<Recurrence<T>, E> {
    let n = start.len();
    let norm = dot(start, start).sqrt();
    let mut q: Vec<T> = if norm > 0.0 && norm.is_finite() {
        start.iter().map(|x| T::of(x.as_f64() / norm)).collect()
    } else {
        // A zero start vector: e₁ is as good a start as any.
        (0..n).map(|i| if i == 0 { T::one() } else { T::zero() }).collect()
    };
    let (mut basis, mut alpha, mut beta): (Vec<Vec<T>>, Vec<f64>, Vec<f64>) = (Vec::new(), Vec::new(), Vec::new());
    let steps = max_steps.min(n).max(1);
    let (mut last, mut exact) = (0.0, false);
    for j in 0..steps {
        let mut w = apply(&q)?;
        assert_eq!(w.len(), n, "the operator returned {} values for a vector of {n}", w.len());
        let a = dot(&q, &w);
        axpy(&mut w, a, &q);
        if let (Some(prev), Some(b)) = (basis.last(), beta.last()) {
            axpy(&mut w, *b, prev);
        }
        basis.push(q);
        for _ in 0..2 {
            for v in &basis {
                let c = dot(v, &w);
                axpy(&mut w, c, v);
            }
        }
        alpha.push(a);
        let b = dot(&w, &w).sqrt();
        let scale = alpha.iter().chain(&beta).fold(0.0f64, |m, x| m.max(x.abs()));
        // β at rounding level: the basis spans an invariant subspace and
        // the Ritz values are exact eigenvalues.
        let invariant = b.is_nan() || b <= 1e3 * f64::EPSILON * scale.max(f64::MIN_POSITIVE);
        (last, exact) = (b, invariant || j + 1 == n);
        if stop(&alpha, &beta, b) || invariant || j + 1 == steps {
            break;
        }
        beta.push(b);
        q = w.iter().map(|x| T::of(x.as_f64() / b)).collect();
    }
    Ok(Recurrence { basis, alpha, beta, last, exact })
}

/// A finished Lanczos recurrence.
struct Recurrence<T> {
    /// The orthonormal basis q₁…q_m.
    basis: Vec<Vec<T>>,
    /// The tridiagonal matrix's diagonal (m values) and off-diagonal (m − 1).
    alpha: Vec<f64>,
    beta: Vec<f64>,
    /// The norm of the residual after the last step (the β that would come next).
    last: f64,
    /// The basis spans an invariant subspace (or the whole space): the Ritz
    /// values are eigenvalues.
    exact: bool,
}

/// The `options.top` largest eigenvalues of the symmetric operator
/// `apply` and their eigenvectors, by Lanczos with full reorthogonalisation
/// from `start` (a random vector is the usual choice; a previous
/// eigenvector warm-starts a tracking run).
///
/// # Errors
/// The operator's error, returned as soon as a product fails.
///
/// # Panics
/// If `apply` returns a vector of another length than `start`'s.
///
/// # Examples
/// ```
/// use gradus_autodiff::{LanczosOptions, lanczos};
/// // diag(1, 2, …, 10): the top two are 10 and 9.
/// let apply = |v: &[f64]| Ok::<_, ()>(v.iter().enumerate().map(|(i, x)| (i + 1) as f64 * x).collect());
/// let options = LanczosOptions { top: 2, ..Default::default() };
/// let ritz = lanczos(&[1.0; 10], &options, apply).unwrap();
/// assert!((ritz.values[0] - 10.0).abs() < 1e-9 && (ritz.values[1] - 9.0).abs() < 1e-9);
/// ```
pub fn lanczos<T: Float, E>(
    start: &[T],
    options: &LanczosOptions,
    mut apply: impl FnMut(&[T]) -> Result<Vec<T>, E>,
) -> Result<Ritz<T>, E> {
    let top = options.top.max(1);
    let mut converged = false;
    let mut stop = |alpha: &[f64], beta: &[f64], b: f64| {
        if alpha.len() < top {
            return false;
        }
        let (theta, s) = tridiagonal_eigen(alpha, beta);
        let m = alpha.len();
        let largest = theta.iter().fold(0.0f64, |x, t| x.max(t.abs()));
        converged = (m - top..m).all(|j| b * s[m - 1][j].abs() <= options.tol * largest.max(f64::MIN_POSITIVE));
        converged
    };
    let Recurrence { basis, alpha, beta, last, exact } = recurrence(start, options.max_steps, &mut apply, &mut stop)?;
    let m = alpha.len();
    let (theta, s) = tridiagonal_eigen(&alpha, &beta);
    let b_last = if exact { 0.0 } else { last };
    let k = top.min(m);
    let mut ritz = Ritz {
        values: Vec::new(),
        vectors: Vec::new(),
        residuals: Vec::new(),
        products: m,
        converged: converged || exact,
        converged_count: 0,
    };
    let largest = theta.iter().fold(0.0f64, |x, t| x.max(t.abs()));
    for j in (m - k..m).rev() {
        let mut y = vec![0.0f64; start.len()];
        for (i, v) in basis.iter().enumerate() {
            let c = s[i][j];
            y.iter_mut().zip(v).for_each(|(y, x)| *y += c * x.as_f64());
        }
        ritz.values.push(theta[j]);
        ritz.vectors.push(y.into_iter().map(T::of).collect());
        ritz.residuals.push(b_last * s[m - 1][j].abs());
    }
    ritz.converged_count = if exact {
        k
    } else {
        ritz.residuals.iter().take_while(|&&r| r <= options.tol * largest.max(f64::MIN_POSITIVE)).count()
    };
    Ok(ritz)
}

/// One probe of stochastic Lanczos quadrature: `steps` Lanczos steps from
/// `start` (normalised here), returned as the Gauss quadrature of the
/// spectral measure seen from it. With `steps` at the dimension, the nodes
/// are the operator's eigenvalues.
///
/// # Errors
/// The operator's error.
///
/// # Panics
/// If `apply` returns a vector of another length than `start`'s.
pub fn lanczos_quadrature<T: Float, E>(
    start: &[T],
    steps: usize,
    mut apply: impl FnMut(&[T]) -> Result<Vec<T>, E>,
) -> Result<Quadrature, E> {
    let run = recurrence(start, steps, &mut apply, &mut |_, _, _| false)?;
    let (nodes, s) = tridiagonal_eigen(&run.alpha, &run.beta);
    let weights = s[0].iter().map(|x| x * x).collect();
    Ok(Quadrature { nodes, weights })
}

/// The spectral density of the probes' quadratures (averaged), each node
/// spread as a Gaussian, on `bins` evenly spaced points from 5 kernel
/// widths below the smallest node to 5 above the largest.
///
/// The kernel's variance follows PyHessian (Yao et al. 2020):
/// `sigma_squared·max(1, λ_max − λ_min)`, widened where needed to 1.5 grid
/// steps so that every kernel is resolved by the grid.
///
/// # Examples
/// ```
/// use gradus_autodiff::{Quadrature, density};
/// let q = Quadrature { nodes: vec![-1.0, 2.0], weights: vec![0.25, 0.75] };
/// let d = density(&[q], 2001, 1e-3);
/// let step = d.grid[1] - d.grid[0];
/// let integral: f64 = d.values.iter().sum::<f64>() * step;
/// assert!((integral - 1.0).abs() < 1e-6);
/// ```
pub fn density(probes: &[Quadrature], bins: usize, sigma_squared: f64) -> Density {
    let nodes = probes.iter().flat_map(|q| q.nodes.iter().copied()).filter(|x| x.is_finite());
    let (lo, hi) = nodes.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), x| (l.min(x), h.max(x)));
    let bins = bins.max(2);
    if lo > hi {
        return Density { grid: vec![0.0; bins], values: vec![f64::NAN; bins], variance: f64::NAN };
    }
    let range = hi - lo;
    let mut variance = sigma_squared * range.max(1.0);
    // The grid spans the nodes plus 5 kernel widths each side; the width
    // must cover 1.5 grid steps, and the grid depends on the width, so the
    // width is solved for: sd ≥ 1.5·(range + 10·sd)/(bins − 1).
    let steps = (bins - 1) as f64;
    if steps > 15.0 {
        variance = variance.max((1.5 * range / (steps - 15.0)).powi(2));
    }
    let sd = variance.sqrt().max(1e-12);
    let (start, end) = (lo - 5.0 * sd, hi + 5.0 * sd);
    let step = (end - start) / steps;
    let grid: Vec<f64> = (0..bins).map(|i| start + step * i as f64).collect();
    let norm = 1.0 / (2.0 * std::f64::consts::PI * variance).sqrt() / probes.len() as f64;
    let values = grid
        .iter()
        .map(|&x| {
            let each = probes.iter().flat_map(|q| q.nodes.iter().zip(&q.weights));
            norm * each.map(|(t, w)| w * (-(x - t) * (x - t) / (2.0 * variance)).exp()).sum::<f64>()
        })
        .collect();
    Density { grid, values, variance }
}

/// A Rademacher vector (each entry ±1 with probability ½) of length `n`.
pub fn rademacher<T: Float>(n: usize, rng: &mut impl Rng) -> Vec<T> {
    (0..n).map(|_| if rng.random::<bool>() { T::one() } else { -T::one() }).collect()
}

/// Hutchinson's trace estimate of the operator `apply` of dimension `n`
/// from `probes` Rademacher probes (the expectation of vᵀAv is tr A for them).
///
/// # Errors
/// The operator's error.
///
/// # Examples
/// ```
/// use gradus_autodiff::hutchinson;
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// // A diagonal operator: every Rademacher probe gives the trace exactly.
/// let t = hutchinson(4, 10, &mut rng, |v: &[f64]| Ok::<_, ()>(v.iter().map(|x| 2.5 * x).collect())).unwrap();
/// assert_eq!((t.trace, t.stderr), (10.0, 0.0));
/// ```
pub fn hutchinson<T: Float, E>(
    n: usize,
    probes: usize,
    rng: &mut impl Rng,
    mut apply: impl FnMut(&[T]) -> Result<Vec<T>, E>,
) -> Result<TraceEstimate, E> {
    let mut samples = Vec::with_capacity(probes);
    for _ in 0..probes {
        let v = rademacher::<T>(n, rng);
        samples.push(dot(&v, &apply(&v)?));
    }
    let k = samples.len() as f64;
    let mean = samples.iter().sum::<f64>() / k;
    let var = samples.iter().map(|s| (s - mean) * (s - mean)).sum::<f64>() / (k - 1.0);
    Ok(TraceEstimate { trace: mean, stderr: (var / k).sqrt(), probes })
}
