//! Hessians against closed forms, Hessian-vector products against H·v, and
//! the curvature helper's verdicts.

use gradus_autodiff::{PointKind, Var, curvature, hessian, hvp};
use gradus_tensor::{Tensor, assert_close};

fn xy(v: &Var<f64>) -> (Var<f64>, Var<f64>) {
    (v.narrow(0, 0, 1).sum(.., false), v.narrow(0, 1, 1).sum(.., false))
}

/// (1 − x)² + 100(y − x²)².
fn rosenbrock(v: &Var<f64>) -> Var<f64> {
    let (x, y) = xy(v);
    (1.0 - &x).square() + (&y - &x.square()).square().mul_scalar(100.0)
}

/// (x² + y − 11)² + (x + y² − 7)².
fn himmelblau(v: &Var<f64>) -> Var<f64> {
    let (x, y) = xy(v);
    (&x.square() + &y - 11.0).square() + (&x + &y.square() - 7.0).square()
}

fn point(x: f64, y: f64) -> Tensor<f64> {
    Tensor::from_vec(vec![x, y], &[2]).unwrap()
}

#[test]
fn rosenbrock_hessian_matches_its_closed_form() {
    for (x, y) in [(1.0, 1.0), (-1.2, 1.0), (0.3, -0.7)] {
        let h = hessian(rosenbrock, &point(x, y)).unwrap();
        let expected = [2.0 - 400.0 * (y - x * x) + 800.0 * x * x, -400.0 * x, -400.0 * x, 200.0];
        assert_close!(h, expected, 1e-9, 1e-12);
    }
    assert_eq!(curvature(rosenbrock, &point(1.0, 1.0)).unwrap().kind, PointKind::Minimum);
}

#[test]
fn himmelblau_hessian_matches_its_closed_form() {
    for (x, y) in [(3.0, 2.0), (0.5, -1.5), (-2.0, 0.25)] {
        let h = hessian(himmelblau, &point(x, y)).unwrap();
        let (hxx, hxy, hyy) = (12.0 * x * x + 4.0 * y - 42.0, 4.0 * (x + y), 4.0 * x + 12.0 * y * y - 26.0);
        assert_close!(h, [hxx, hxy, hxy, hyy], 1e-9, 1e-12);
    }
}

#[test]
fn hvp_equals_the_hessian_times_the_vector() {
    let x = point(-0.8, 1.3);
    let v = point(0.6, -2.0);
    let (value, g, hv) = hvp(rosenbrock, &x, &v).unwrap();
    let h = hessian(rosenbrock, &x).unwrap();
    assert_close!(hv, h.matmul(&v), 1e-9, 1e-12);
    assert_close!(value, (1.0f64 + 0.8).powi(2) + 100.0 * (1.3f64 - 0.64).powi(2), 1e-12, 1e-12);
    let dx = -2.0 * (1.0 + 0.8) - 400.0 * -0.8 * (1.3 - 0.64);
    assert_close!(g, [dx, 200.0 * (1.3 - 0.64)], 1e-9, 1e-12);
}

#[test]
fn himmelblau_critical_points_are_classified() {
    let minima = [(3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)];
    for (x, y) in minima {
        let c = curvature(himmelblau, &point(x, y)).unwrap();
        assert_eq!(c.kind, PointKind::Minimum, "({x}, {y}): eigenvalues {:?}", c.eigenvalues);
        assert!(c.gradient_norm < 1e-3, "({x}, {y}) is a critical point: |g| = {}", c.gradient_norm);
        let lambda_max = c.eigenvalues[1];
        assert_close!(c.max_stable_lr, 2.0 / lambda_max, 0.0, 1e-12);
        assert_close!(c.condition_number, lambda_max / c.eigenvalues[0], 0.0, 1e-12);
    }
    let max = curvature(himmelblau, &point(-0.270845, -0.923039)).unwrap();
    assert_eq!(max.kind, PointKind::Maximum, "{:?}", max.eigenvalues);
    assert!(max.max_stable_lr.is_infinite());
    // One of Himmelblau's four saddle points.
    let saddle = curvature(himmelblau, &point(0.086677, 2.884254)).unwrap();
    assert_eq!(saddle.kind, PointKind::Saddle, "{:?}", saddle.eigenvalues);
}

#[test]
fn x_squared_minus_y_squared_is_a_saddle_and_flat_directions_are_degenerate() {
    let f = |v: &Var<f64>| {
        let (x, y) = xy(v);
        x.square() - y.square()
    };
    let c = curvature(f, &point(0.0, 0.0)).unwrap();
    assert_eq!(c.kind, PointKind::Saddle);
    assert_eq!(c.eigenvalues, vec![-2.0, 2.0]);
    assert_eq!(c.gradient_norm, 0.0);
    let flat = |v: &Var<f64>| xy(v).0.square();
    assert_eq!(curvature(flat, &point(0.0, 0.0)).unwrap().kind, PointKind::Degenerate);
}
