//! Newton's method (with the `tensor` feature: it solves with dense
//! matrices): one step on a quadratic, damping at a saddle, Rosenbrock from
//! the classic start.
#![cfg(feature = "tensor")]

use gradus_optim::*;

fn rosenbrock_hessian(p: &[f64]) -> gradus_tensor::Tensor<f64> {
    let (x, y) = (p[0], p[1]);
    let h = vec![2.0 - 400.0 * (y - 3.0 * x * x), -400.0 * x, -400.0 * x, 200.0];
    gradus_tensor::Tensor::from_vec(h, &[2, 2]).unwrap()
}

#[test]
fn newton_solves_quadratics_in_one_step_and_damps_at_saddles() {
    // A 3-d quadratic ½θᵀAθ: the Hessian and the HVP forms both land on 0.
    let a = [4.0, 1.0, 0.0, 1.0, 3.0, 0.5, 0.0, 0.5, 2.0];
    let hess = gradus_tensor::Tensor::from_vec(a.to_vec(), &[3, 3]).unwrap();
    let grad_of = |t: &[f64]| (0..3).map(|i| (0..3).map(|j| a[i * 3 + j] * t[j]).sum()).collect::<Vec<f64>>();
    let newton = Newton::new(NewtonConfig::default()).unwrap();
    let mut theta = vec![1.0, -2.0, 0.5];
    let g = grad_of(&theta);
    let step = newton.step(&mut theta, &g, &hess).unwrap();
    assert!(theta.iter().all(|t| t.abs() < 1e-15) && step.damping == 0.0, "{theta:?}");
    let mut theta = vec![1.0, -2.0, 0.5];
    let g = grad_of(&theta);
    let step = newton.step_hvp(&mut theta, &g, grad_of);
    assert!(theta.iter().all(|t| t.abs() < 1e-12) && step.cg_iterations <= 3, "{theta:?} {step:?}");
    // x² − y² at (1, 1): H = diag(2, −2) is indefinite; the damped step still descends.
    let saddle = gradus_tensor::Tensor::from_vec(vec![2.0, 0.0, 0.0, -2.0], &[2, 2]).unwrap();
    let mut p = vec![1.0, 1.0];
    let g = vec![2.0, -2.0];
    let step = newton.step(&mut p, &g, &saddle).unwrap();
    assert!(step.damping > 2.0, "{step:?}");
    let f = |p: &[f64]| p[0] * p[0] - p[1] * p[1];
    assert!(f(&p) < f(&[1.0, 1.0]));
    // CG meets negative curvature and falls back to the gradient.
    let mut p = vec![0.0, 1.0];
    let step = newton.step_hvp(&mut p, &[0.0, -2.0], |v| vec![2.0 * v[0], -2.0 * v[1]]);
    assert!(step.negative_curvature && p[1] > 1.0);
    // Newton with the exact Hessian solves Rosenbrock from the classic start.
    let mut p = vec![-1.2, 1.0];
    for _ in 0..50 {
        let g = vec![-2.0 * (1.0 - p[0]) - 400.0 * p[0] * (p[1] - p[0] * p[0]), 200.0 * (p[1] - p[0] * p[0])];
        let h = rosenbrock_hessian(&p);
        newton.step(&mut p, &g, &h).unwrap();
    }
    assert!((p[0] - 1.0).abs() < 1e-12 && (p[1] - 1.0).abs() < 1e-12, "{p:?}");
}
