//! A schedule of the optimiser's momentum: its values are factors on the
//! momentum the optimiser was built with, set before each step as the
//! rate's schedule sets the rate, and refused where it would leave [0, 1]
//! or where the rate's schedule drives the momentum already.

use gradus::prelude::*;
use gradus::tensor::{BatchTargets, Tensor};

/// SGD with momentum μ_t = 0.9·(0.5 + 0.5·t/4 up to 1) on a linear model:
/// the trainer's steps equal the heavy-ball recursion with that μ_t,
/// b ← μ_t·b + g, θ ← θ − ηb (b = g at the first step), computed here.
#[test]
fn the_momentum_follows_its_schedule_step_by_step() {
    let model = gradus::models::ModelSpec::parse("seq(linear(2, 1))").unwrap().build::<f64>(3);
    let x = Tensor::from_vec(vec![1.0, 2.0, -1.0, 0.5, 0.3, -0.7], &[3, 2]).unwrap();
    let targets = [0.5, -1.0, 2.0];
    let y = BatchTargets::Values(Tensor::from_vec(targets.to_vec(), &[3, 1]).unwrap());
    let optim = Optimizer::boxed(gradus::optim::parse("sgd(lr=0.05, momentum=0.9)").unwrap());
    let warm = gradus::sched::parse("linear(start_factor=0.5, total_iters=4)").unwrap();
    let mut trainer = Trainer::new(optim).with_momentum_schedule(warm, Every::Batch).unwrap();
    let params = || -> Vec<f64> { model.named_parameters().iter().flat_map(|(_, p)| p.value().to_vec()).collect() };
    let (mut theta, mut buf): (Vec<f64>, Option<Vec<f64>>) = (params(), None);
    for t in 0..6 {
        let mu = 0.9 * (0.5 + 0.5 * (t.min(4) as f64) / 4.0);
        assert!((trainer.optim().groups()[0].rule.momentum().unwrap() - mu).abs() < 1e-15, "step {t}");
        // The gradient of the mean squared error at θ = (w₀, w₁, b).
        let mut g = vec![0.0; 3];
        for r in 0..3 {
            let (a, c) = (x.to_vec()[2 * r], x.to_vec()[2 * r + 1]);
            let e = theta[0] * a + theta[1] * c + theta[2] - targets[r];
            for (k, v) in [a, c, 1.0].iter().enumerate() {
                g[k] += 2.0 * e * v / 3.0;
            }
        }
        let b: Vec<f64> = match buf {
            None => g.clone(),
            Some(b) => b.iter().zip(&g).map(|(b, g)| mu * b + g).collect(),
        };
        theta = theta.iter().zip(&b).map(|(p, b)| p - 0.05 * b).collect();
        buf = Some(b);
        trainer
            .step(
                &model,
                &gradus::loss::Regression::Mse(gradus::loss::Reduction::Mean),
                &Var::constant(x.clone()),
                &y,
                None,
            )
            .unwrap();
        for (a, b) in params().iter().zip(&theta) {
            assert!((a - b).abs() <= 1e-12, "step {t}: {a} vs {b}");
        }
    }
}

#[test]
fn momentum_schedules_that_cannot_apply_are_refused() {
    let sgd = || Optimizer::boxed(gradus::optim::parse("sgd(lr=0.1, momentum=0.9)").unwrap());
    let parse = |s: &str| gradus::sched::parse(s).unwrap();
    let err = |r: Result<Trainer<f64>, gradus::GradusError>| r.err().expect("refused").to_string();
    let adagrad = Optimizer::boxed(gradus::optim::parse("adagrad").unwrap());
    let e = err(Trainer::new(adagrad).with_momentum_schedule(parse("constant(factor=0.5)"), Every::Batch));
    assert!(e.contains("adagrad has no momentum"), "{e}");
    let onecycle = parse("onecycle(max_lr=0.1, total_steps=10)");
    let t = Trainer::new(sgd()).with_schedule(onecycle, Every::Batch).unwrap();
    let e = err(t.with_momentum_schedule(parse("constant(factor=0.5)"), Every::Batch));
    assert!(e.contains("drives the momentum already"), "{e}");
    let e = err(Trainer::new(sgd()).with_momentum_schedule(parse("plateau"), Every::Epoch));
    assert!(e.contains("step schedule"), "{e}");
    // 0.9 × 2 = 1.8 from the second step on.
    let e =
        err(Trainer::new(sgd()).with_momentum_schedule(parse("piecewise(boundaries=[1], scales=[2.0])"), Every::Batch));
    assert!(e.contains("momentum must be in [0, 1]"), "{e}");
}
