//! Curvature at a point: the Hessian's eigenvalues, the
//! kind of point (minimum, maximum, saddle, degenerate), the condition
//! number, and the largest stable gradient-descent rate 2/λ_max.

use crate::Result;
use crate::Var;
use crate::derivatives::gradient_and_hessian;
use gradus_tensor::{Float, Tensor};

/// What the second-order test says about a point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PointKind {
    /// All eigenvalues positive.
    Minimum,
    /// All eigenvalues negative.
    Maximum,
    /// Eigenvalues of both signs.
    Saddle,
    /// Some eigenvalue (numerically) zero and no two of opposite signs: the
    /// second-order test cannot tell.
    Degenerate,
}

/// The curvature of a scalar function at a point.
#[derive(Clone, Debug)]
pub struct Curvature<T: Float> {
    /// The gradient's Euclidean norm (0 at a critical point; the kind is
    /// only a verdict on the point when this is small).
    pub gradient_norm: T,
    /// The Hessian, flattened to `[n, n]`.
    pub hessian: Tensor<T>,
    /// Its eigenvalues, ascending.
    pub eigenvalues: Vec<T>,
    /// The second-order verdict.
    pub kind: PointKind,
    /// max|λ| / min|λ| (infinite when some λ is 0).
    pub condition_number: T,
    /// 2/λ_max: gradient descent on the local quadratic diverges above it
    /// (infinite when no eigenvalue is positive).
    pub max_stable_lr: T,
}

/// The curvature of `f` at `x`. Eigenvalues within `1e-8·max|λ|` (or of an
/// absolute 1e-12) of 0 count as zero.
///
/// # Errors
/// If `f` is not scalar, a backward pass fails, or the eigendecomposition
/// does not converge.
///
/// # Examples
/// ```
/// use gradus_autodiff::{PointKind, curvature};
/// use gradus_tensor::Tensor;
/// let saddle = curvature(|v| {
///     let sq = v.square();
///     sq.narrow(0, 0, 1).sub(&sq.narrow(0, 1, 1)).sum(.., false)
/// }, &Tensor::<f64>::zeros(&[2])).unwrap();
/// assert_eq!(saddle.kind, PointKind::Saddle);
/// ```
pub fn curvature<T: Float>(f: impl Fn(&Var<T>) -> Var<T>, x: &Tensor<T>) -> Result<Curvature<T>> {
    let (gradient, h) = gradient_and_hessian(f, x)?;
    let (values, _) = h.eigh()?;
    let eigenvalues = values.to_vec();
    let largest = eigenvalues.iter().fold(T::zero(), |m, l| m.max(l.abs()));
    let zero_tol = (largest * T::of(1e-8)).max(T::of(1e-12));
    let positive = eigenvalues.iter().filter(|l| **l > zero_tol).count();
    let negative = eigenvalues.iter().filter(|l| **l < -zero_tol).count();
    let n = eigenvalues.len();
    let kind = if positive > 0 && negative > 0 {
        PointKind::Saddle
    } else if positive == n {
        PointKind::Minimum
    } else if negative == n {
        PointKind::Maximum
    } else {
        PointKind::Degenerate
    };
    let smallest = eigenvalues.iter().fold(T::infinity(), |m, l| m.min(l.abs()));
    let condition_number = if smallest > zero_tol { largest / smallest } else { T::infinity() };
    let lambda_max = eigenvalues.last().copied().unwrap_or(T::zero());
    let max_stable_lr = if lambda_max > zero_tol { T::of(2.0) / lambda_max } else { T::infinity() };
    Ok(Curvature {
        gradient_norm: gradient.norm(T::of(2.0), .., false).item(),
        hessian: h,
        eigenvalues,
        kind,
        condition_number,
        max_stable_lr,
    })
}
