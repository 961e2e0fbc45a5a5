//! A run that stops being finite stops: the step that finds a non-finite
//! loss or gradient leaves the model as it was, names the epoch and step,
//! and (in anomaly mode) the op that first produced the value; no accuracy
//! is read from non-finite outputs; evaluation restores the model's mode.

use gradus::data::{Features, InMemory, Targets as Labels};
use gradus::prelude::*;
use gradus::tensor::Tensor;
use std::sync::Arc;

fn blobs(n: usize) -> Arc<dyn Dataset> {
    let x: Vec<f64> = (0..n * 2).map(|i| ((i * 37) % 11) as f64 - 5.0).collect();
    Arc::new(InMemory::new(Features::F64(x), vec![2], Labels::Classes((0..n).map(|i| i % 4).collect())).unwrap())
}

fn model() -> Sequential<f32> {
    Mlp::new(&[2, 16, 4]).dropout(0.1).build(&mut rand::rngs::StdRng::seed_from_u64(3))
}

fn weights(m: &Sequential<f32>) -> Vec<u32> {
    m.named_parameters().iter().flat_map(|(_, p)| p.value().to_vec()).map(f32::to_bits).collect()
}

fn classes() -> BatchTargets<f32> {
    BatchTargets::Classes(Tensor::from_vec(vec![0, 1, 2, 3], &[4]).unwrap())
}

fn loaders() -> (DataLoader, DataLoader) {
    (DataLoader::new(blobs(64), 16), DataLoader::new(blobs(32), 32))
}

#[test]
fn a_huge_rate_stops_at_the_first_non_finite_step_and_keeps_the_model() {
    let (train, test) = loaders();
    let model = model();
    let mut t = Trainer::new(Optimizer::boxed(gradus::optim::parse("sgd(lr=1e38)").unwrap()));
    let loss = CrossEntropy::default();
    let mut before = weights(&model);
    let mut steps = 0;
    let (x, y) = (Var::constant(Tensor::<f32>::ones(&[4, 2])), classes());
    let err = loop {
        match t.step(&model, &loss, &x, &y, None) {
            Ok(v) => {
                assert!(v.is_finite());
                steps += 1;
                before = weights(&model);
                assert!(steps < 100, "never diverged");
            }
            Err(e) => break e,
        }
    };
    assert_eq!(weights(&model), before, "the failing step changed the model");
    match &err {
        GradusError::Diverged { epoch: Some(1), step: Some(s), what, first_op: None } => {
            assert_eq!(*s, steps + 1);
            assert!(what.starts_with("the training loss is") || what.starts_with("the gradient of"), "{what}");
        }
        other => panic!("{other}"),
    }
    // A whole epoch: the error names epoch 1 and no epoch is counted.
    let mut t = Trainer::new(Optimizer::boxed(gradus::optim::parse("sgd(lr=1e38)").unwrap()));
    let e = t.epoch(&self::model(), &loss, &Loaders { train: &train, monitor: &test, test: &test }).unwrap_err();
    assert!(e.to_string().starts_with("the run diverged at epoch 1, step "), "{e}");
    assert_eq!(t.epochs(), 0);
}

#[test]
fn anomaly_mode_names_the_first_op_that_went_non_finite() {
    let model = model();
    // Weights so large that the first layer's product overflows f32.
    for (_, p) in model.named_parameters() {
        p.data_mut().iter_mut().for_each(|w| *w = 1e30);
    }
    let mut t = Trainer::new(Optimizer::boxed(gradus::optim::parse("sgd(lr=0.1)").unwrap()));
    let x = Var::constant(Tensor::<f32>::full(&[4, 2], 1e10));
    let y = classes();
    gradus::autodiff::set_anomaly_mode(true);
    let e = t.step(&model, &CrossEntropy::default(), &x, &y, None).unwrap_err();
    gradus::autodiff::set_anomaly_mode(false);
    let GradusError::Diverged { first_op: Some(op), .. } = &e else { panic!("{e}") };
    assert!(op.contains("forward of `") && op.contains("produced NaN or Inf"), "{op}");
    assert!(e.to_string().contains("; first non-finite value: anomaly: forward of"), "{e}");
}

#[test]
fn evaluation_refuses_non_finite_outputs_and_restores_the_mode() {
    let (_, test) = loaders();
    let model = model();
    let loss = CrossEntropy::default();
    for mode in [true, false] {
        model.set_training(mode);
        evaluate(&model, &loss, &test).unwrap();
        assert_eq!(model.training(), Some(mode), "evaluate left the mode changed");
    }
    for (_, p) in model.named_parameters() {
        p.data_mut().iter_mut().for_each(|w| *w = f32::NAN);
    }
    model.set_training(true);
    let e = evaluate(&model, &loss, &test).unwrap_err();
    assert!(matches!(e, GradusError::Diverged { epoch: None, .. }), "{e}");
    assert_eq!(e.to_string(), "the run diverged: the evaluation loss is NaN");
    assert_eq!(model.training(), Some(true), "the error path left eval mode on");
}

#[test]
fn a_one_cycle_schedule_is_not_stepped_past_its_end() {
    let (train, test) = loaders();
    let model = model();
    let s = gradus::sched::parse("onecycle(max_lr=0.1, total_steps=6)").unwrap();
    let mut t = Trainer::new(Optimizer::boxed(gradus::optim::parse("sgd(lr=0.1)").unwrap()))
        .with_schedule(s, Every::Batch)
        .unwrap();
    // 4 batches an epoch: the first epoch fits; the second takes steps 5
    // and 6 and refuses the 7th.
    t.epoch(&model, &CrossEntropy::default(), &Loaders { train: &train, monitor: &test, test: &test }).unwrap();
    let e =
        t.epoch(&model, &CrossEntropy::default(), &Loaders { train: &train, monitor: &test, test: &test }).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the schedule ends after 6 steps and this would be step 7; give it more steps (total_steps) or train for fewer"
    );
    // Steps 5 and 6 were taken; step 7 was refused before it ran.
    assert_eq!(t.counters(), (6, 1));
}
