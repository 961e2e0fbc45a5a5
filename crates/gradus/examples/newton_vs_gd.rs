//! Newton's method against gradient descent on a quadratic ½θᵀAθ − bᵀθ
//!: Newton lands on the minimum in one step; GD
//! converges only for η < 2/λ_max, and oscillates or diverges above.
//!
//! `cargo run --release -p gradus --example newton_vs_gd`

use gradus::autodiff::curvature;
use gradus::optim::{Newton, NewtonConfig, Optimizer, Sgd, SgdConfig};
use gradus::tensor::Tensor;

fn main() -> Result<(), gradus::GradusError> {
    // A = [[3, 1], [1, 20]], b = (1, 2): λ ≈ 2.94, 20.06.
    let (a, b) = ([3.0, 1.0, 1.0, 20.0], [1.0, 2.0]);
    let grad = |t: &[f64]| vec![a[0] * t[0] + a[1] * t[1] - b[0], a[2] * t[0] + a[3] * t[1] - b[1]];
    let f = |v: &gradus::autodiff::Var<f64>| {
        let m = gradus::autodiff::Var::constant(Tensor::from_vec(a.to_vec(), &[2, 2]).expect("2 × 2"));
        let bv = gradus::autodiff::Var::constant(Tensor::from_vec(b.to_vec(), &[2]).expect("2"));
        let col = v.reshape(&[2, 1]);
        &col.t().matmul(&m).matmul(&col).sum(.., false).mul_scalar(0.5) - &(v * &bv).sum(.., false)
    };
    let c = curvature(f, &Tensor::from_vec(vec![0.0, 0.0], &[2]).expect("a point"))?;
    println!("eigenvalues {:?}, largest stable GD rate 2/λ_max = {:.5}", c.eigenvalues, c.max_stable_lr);

    let mut theta = vec![5.0, -3.0];
    let g = grad(&theta);
    Newton::new(NewtonConfig::default())?.step(&mut theta, &g, &c.hessian)?;
    println!("Newton, one step: θ = ({:.12}, {:.12}), ‖∇J‖ = {:.2e}", theta[0], theta[1], norm(&grad(&theta)));

    for factor in [0.5, 0.99, 1.01] {
        let lr = factor * c.max_stable_lr;
        let mut opt = Optimizer::new(Sgd::new(SgdConfig { lr, ..Default::default() })?);
        let mut theta = vec![5.0, -3.0];
        for _ in 0..200 {
            let g = grad(&theta);
            opt.update(0, &mut theta, &g)?;
        }
        println!("GD at η = {factor} × 2/λ_max = {lr:.5}: after 200 steps ‖∇J‖ = {:.3e}", norm(&grad(&theta)));
    }
    Ok(())
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}
