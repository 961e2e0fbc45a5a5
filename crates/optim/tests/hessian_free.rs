//! Hessian-free against Newton's method on quadratics (one step of CG run
//! to convergence is the Newton step, damped or not), Levenberg–Marquardt's
//! damping rule, the warm start, and the drivers that must not step it
//! without the curvature.

use gradus_optim::{CurvatureOracle, HessianFree, HessianFreeConfig, OptimError, Optimizer, UpdateRule};

/// f(θ) = ½θᵀAθ − bᵀθ (+ c·Σθ⁴ beyond the quadratic the products see).
struct Quadratic {
    a: Vec<f64>,
    b: Vec<f64>,
    quartic: f64,
    products: usize,
}

impl Quadratic {
    /// A = MᵀM + I for a fixed M, n × n.
    fn new(n: usize, quartic: f64) -> Self {
        let m: Vec<f64> = (0..n * n).map(|i| (((i * 7919) % 23) as f64 - 11.0) / 7.0).collect();
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                a[i * n + j] =
                    (0..n).map(|k| m[k * n + i] * m[k * n + j]).sum::<f64>() + if i == j { 1.0 } else { 0.0 };
            }
        }
        Self { a, b: (0..n).map(|i| (i as f64).sin()).collect(), quartic, products: 0 }
    }

    fn grad(&self, t: &[f64]) -> Vec<f64> {
        let n = t.len();
        (0..n)
            .map(|i| {
                (0..n).map(|j| self.a[i * n + j] * t[j]).sum::<f64>() - self.b[i] + 4.0 * self.quartic * t[i].powi(3)
            })
            .collect()
    }
}

impl CurvatureOracle<f64> for Quadratic {
    fn product(&mut self, v: &[f64]) -> Result<Vec<f64>, String> {
        self.products += 1;
        let n = v.len();
        Ok((0..n).map(|i| (0..n).map(|j| self.a[i * n + j] * v[j]).sum()).collect())
    }

    fn loss_at(&mut self, t: &[f64]) -> Result<f64, String> {
        let n = t.len();
        let quad: f64 = (0..n).map(|i| t[i] * (0..n).map(|j| self.a[i * n + j] * t[j]).sum::<f64>()).sum();
        Ok(0.5 * quad - t.iter().zip(&self.b).map(|(x, b)| x * b).sum::<f64>()
            + self.quartic * t.iter().map(|x| x.powi(4)).sum::<f64>())
    }
}

fn one_step(cfg: HessianFreeConfig, q: &mut Quadratic, theta: &mut [f64]) -> Optimizer<f64> {
    let mut opt = Optimizer::<f64>::new(HessianFree::new(cfg).unwrap());
    let g = q.grad(theta);
    let n = theta.len();
    opt.step_solving([(0, &[n][..], &mut theta[..], Some(&g[..]))], q).unwrap();
    opt
}

#[cfg(feature = "tensor")]
#[test]
fn a_step_on_a_quadratic_is_newton_s_damped_or_not() {
    use gradus_optim::{Newton, NewtonConfig};
    for damping in [0.0, 0.5] {
        let n = 6;
        let mut q = Quadratic::new(n, 0.0);
        let start: Vec<f64> = (0..n).map(|i| 0.3 * i as f64 - 1.0).collect();
        let mut theta = start.clone();
        one_step(HessianFreeConfig { damping, ..Default::default() }, &mut q, &mut theta);
        let mut newton = start.clone();
        let h = gradus_tensor::Tensor::from_vec(q.a.clone(), &[n, n]).unwrap();
        Newton::new(NewtonConfig { damping, ..Default::default() })
            .unwrap()
            .step(&mut newton, &q.grad(&start), &h)
            .unwrap();
        for (a, b) in theta.iter().zip(&newton) {
            assert!((a - b).abs() < 1e-12, "damping {damping}: {a} vs Newton's {b}");
        }
    }
}

#[test]
fn the_undamped_step_on_a_quadratic_zeroes_the_gradient() {
    let n = 8;
    let mut q = Quadratic::new(n, 0.0);
    let mut theta = vec![0.5; n];
    let opt = one_step(HessianFreeConfig { damping: 0.0, ..Default::default() }, &mut q, &mut theta);
    assert!(q.grad(&theta).iter().all(|g| g.abs() < 1e-10), "{:?}", q.grad(&theta));
    // n iterations in exact arithmetic, two more for rounding, and B·p for ρ.
    assert!(q.products <= n + 3, "CG took {} products for n = {n}", q.products);
    // The step was as good as the model said (ρ = 1): the damping shrinks.
    assert_eq!(opt.state(0).unwrap().scalars[0], 0.0);
}

#[test]
fn levenberg_marquardt_raises_the_damping_when_the_model_overpromises() {
    let n = 4;
    let cfg = HessianFreeConfig { damping: 1.0, ..Default::default() };
    // A quartic term the products do not see: the decrease falls short.
    let mut q = Quadratic::new(n, 50.0);
    let mut theta = vec![1.0; n];
    let opt = one_step(cfg, &mut q, &mut theta);
    assert_eq!(opt.state(0).unwrap().scalars[0], 1.5);
    // An exact quadratic model: ρ = 1 and it falls by a third.
    let mut q = Quadratic::new(n, 0.0);
    let mut theta = vec![1.0; n];
    let opt = one_step(cfg, &mut q, &mut theta);
    assert!((opt.state(0).unwrap().scalars[0] - 2.0 / 3.0).abs() < 1e-15);
}

#[test]
fn the_next_step_starts_from_the_last_solution() {
    let n = 5;
    let mut q = Quadratic::new(n, 0.0);
    let mut opt =
        Optimizer::<f64>::new(HessianFree::new(HessianFreeConfig { damping: 0.0, ..Default::default() }).unwrap());
    let mut theta = vec![0.5; n];
    let g = q.grad(&theta);
    opt.step_solving([(0, &[n][..], &mut theta[..], Some(&g[..]))], &mut q).unwrap();
    let direction = opt.state(0).unwrap().slots[0].clone();
    assert!(direction.iter().any(|d| d.abs() > 1e-3), "the CG solution is kept: {direction:?}");
}

#[test]
fn drivers_that_cannot_give_the_curvature_refuse_it() {
    let hf = || -> Box<dyn UpdateRule<f64>> { Box::new(HessianFree::new(HessianFreeConfig::default()).unwrap()) };
    let mut opt = Optimizer::<f64>::boxed(hf());
    let mut theta = vec![1.0];
    let err = opt.step([(0, &[1usize][..], &mut theta[..], Some(&[1.0][..]))]).unwrap_err();
    assert!(matches!(&err, OptimError::Solve(m) if m.contains("step_solving")), "{err}");
    assert_eq!(theta, vec![1.0]);
    assert!(
        gradus_optim::Lookahead::new(hf(), 5, 0.5)
            .unwrap_err()
            .to_string()
            .contains("solves with the batch's curvature")
    );
    assert!(
        gradus_optim::Sam::new(hf(), 0.05, false)
            .unwrap_err()
            .to_string()
            .contains("solves with the batch's curvature")
    );
    for bad in
        ["hessian_free(curvature=fisher)", "hessian_free(cg_steps=0)", "hessian_free(lr=0)", "hessian_free(damping=-1)"]
    {
        assert!(gradus_optim::parse::<f64>(bad).is_err(), "{bad}");
    }
}
