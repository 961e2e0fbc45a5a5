//! `hessian_free` through the trainer: on a linear model under squared
//! error (a quadratic, whose Gauss–Newton matrix is its Hessian) one
//! undamped step lands on the batch's minimum, as Newton's would; on a
//! network with batch norm and dropout its steps lower the batch's loss
//! and leave the buffers as an ordinary step does.

use gradus::autodiff::{Tape, Var};
use gradus::models::ModelSpec;
use gradus::prelude::*;
use gradus::tensor::Tensor;

fn values(n: usize, salt: usize) -> Vec<f64> {
    (0..n).map(|i| ((((i + salt) * 7919) % 101) as f64 / 50.0) - 1.0).collect()
}

fn gradient_norm(model: &dyn Module<f64>, loss: &dyn Loss<f64>, x: &Tensor<f64>, y: &BatchTargets<f64>) -> f64 {
    let tape = Tape::new();
    let out = loss.loss(&model.forward(&tape, &Var::constant(x.clone())), y).unwrap();
    let grads = out.backward().unwrap();
    let params = model.named_parameters();
    params
        .iter()
        .flat_map(|(_, p)| grads.get(&tape.keyed(p.id().0).unwrap()).unwrap().to_vec())
        .map(|g| g * g)
        .sum::<f64>()
        .sqrt()
}

#[test]
fn one_undamped_step_on_a_linear_least_squares_batch_is_newton_s() {
    let model = ModelSpec::parse("seq(linear(4, 3))").unwrap().build::<f64>(2);
    let x = Tensor::from_vec(values(40, 0), &[10, 4]).unwrap();
    let y = BatchTargets::Values(Tensor::from_vec(values(30, 3), &[10, 3]).unwrap());
    let mse = gradus::loss::Regression::Mse(gradus::loss::Reduction::Mean);
    assert!(gradient_norm(&model, &mse, &x, &y) > 1e-2);
    for spec in ["hessian_free(damping=0)", "hessian_free(damping=0, curvature=hessian)"] {
        let model = ModelSpec::parse("seq(linear(4, 3))").unwrap().build::<f64>(2);
        let mut trainer = Trainer::new(Optimizer::boxed(gradus::optim::parse::<f64>(spec).unwrap()));
        trainer.step(&model, &mse, &Var::constant(x.clone()), &y, None).unwrap();
        let norm = gradient_norm(&model, &mse, &x, &y);
        assert!(norm < 1e-10, "{spec}: the gradient after the step is {norm}");
    }
}

#[test]
fn steps_on_a_network_with_batch_norm_lower_the_batch_loss() {
    let spec = "seq(linear(4, 8), batchnorm1d(8), tanh, linear(8, 3))";
    let model = ModelSpec::parse(spec).unwrap().build::<f64>(5);
    let x = Tensor::from_vec(values(64, 1), &[16, 4]).unwrap();
    let y = BatchTargets::Classes(Tensor::from_vec((0..16).map(|i| i % 3).collect(), &[16]).unwrap());
    let loss = CrossEntropy::default();
    let mut trainer =
        Trainer::new(Optimizer::boxed(gradus::optim::parse::<f64>("hessian_free(damping=0.01)").unwrap()));
    // The training-mode loss of the batch at the start of each step.
    let losses: Vec<f64> =
        (0..8).map(|_| trainer.step(&model, &loss, &Var::constant(x.clone()), &y, None).unwrap()).collect();
    assert!(losses[7] < 0.7 * losses[0], "the batch loss went {losses:?}");
    // Batch norm counted one forward pass a step, however many the solve made.
    let tracked = model.named_buffers().into_iter().find(|(n, _)| n.ends_with("num_batches_tracked")).unwrap().1;
    assert_eq!(tracked.value().to_vec(), vec![8.0]);
}
