//! Weight averaging: the trainer's exponential moving average equals
//! `torch.optim.swa_utils.AveragedModel` (EMA, `use_buffers=True`) on a
//! reference run with batch norm, is evaluated each epoch and survives a
//! save and resume exactly.

mod common;

use gradus::models::ModelSpec;
use gradus::prelude::*;
use gradus::tensor::{BatchTargets, Tensor};
use std::collections::HashMap;

/// Named tensors of a reference file (`case key shape values…`).
fn reference(text: &str) -> HashMap<String, Tensor<f64>> {
    let mut out = HashMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let mut parts = line.splitn(4, ' ');
        let (_, key, shape, values) =
            (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
        let shape: Vec<usize> = shape.split(',').map(|d| d.parse().unwrap()).collect();
        let values: Vec<f64> = values.split(' ').map(|v| v.parse().unwrap()).collect();
        out.insert(key.to_string(), Tensor::from_vec(values, &shape).unwrap());
    }
    out
}

#[test]
fn the_ema_equals_pytorchs_averaged_model() {
    let r = reference(include_str!("data/pytorch_ema.txt"));
    let model = ModelSpec::parse("seq(linear(3, 4), batchnorm1d(4), tanh, linear(4, 2))").unwrap().build::<f64>(0);
    for (name, p) in model.named_parameters() {
        p.set(r[&format!("init.{name}")].clone());
    }
    let optim = Optimizer::boxed(gradus::optim::parse("sgd(lr=0.1)").unwrap());
    let mut trainer = Trainer::new(optim).with_ema(0.8).unwrap();
    for t in 0..6 {
        let x = Var::constant(r[&format!("x.{t}")].clone());
        let y = BatchTargets::Classes(r[&format!("y.{t}")].map(|v| v as usize));
        trainer.step(&model, &CrossEntropy::default(), &x, &y, None).unwrap();
    }
    let values = trainer.ema().unwrap();
    assert_eq!(trainer.ema_updates(), Some(6));
    // Parameters and batch norm's running statistics, not its counter.
    assert_eq!(values.len(), 8);
    for (name, v) in values {
        let want = &r[&format!("ema.{name}")];
        assert_eq!(v.shape(), want.shape(), "{name}");
        for (a, b) in v.to_vec().iter().zip(want.to_vec()) {
            assert!((a - b).abs() <= 1e-12 * b.abs().max(1e-3), "{name}: gradus {a}, PyTorch {b}");
        }
    }
    assert!(Trainer::<f64>::new(Optimizer::boxed(gradus::optim::parse("sgd").unwrap())).with_ema(1.5).is_err());
}

#[test]
fn the_ema_is_evaluated_each_epoch_and_resumes_exactly() {
    let data = common::blobs(200, 4);
    let loader = DataLoader::new(std::sync::Arc::clone(&data), 20).shuffle(2);
    let eval = DataLoader::new(data, 100);
    let loaders = Loaders { train: &loader, monitor: &eval, test: &eval };
    let build = || {
        let model = ModelSpec::parse("mlp(2, 8, 4, batch_norm=true)").unwrap().build::<f64>(1);
        let optim = Optimizer::boxed(gradus::optim::parse("sgd(lr=0.2, momentum=0.9)").unwrap());
        (model, Trainer::new(optim).with_ema(0.9).unwrap())
    };
    let (whole, mut t) = build();
    let mut last = None;
    for _ in 0..3 {
        last = Some(t.epoch(&whole, &CrossEntropy::default(), &loaders).unwrap());
    }
    let m = last.unwrap();
    let (loss, accuracy) = m.ema_test.unwrap();
    assert!(loss.is_finite() && accuracy > 0.5, "{m:?}");
    assert_ne!((loss, accuracy), (m.test_loss, m.test_accuracy), "the average is not the model");
    assert!(m.csv_header().contains(",ema_test_loss,ema_test_accuracy"));
    // Evaluating the average leaves the model as it was.
    let again = evaluate(&whole, &CrossEntropy::default(), &eval).unwrap();
    assert_eq!((again.loss, again.accuracy), (m.test_loss, m.test_accuracy));

    // Saved after one epoch and resumed: the same average after three.
    let dir = std::env::temp_dir().join(format!("gradus-ema-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("run.safetensors");
    let (first, mut a) = build();
    a.epoch(&first, &CrossEntropy::default(), &loaders).unwrap();
    a.save(&first, &path).unwrap();
    let ck = gradus::nn::Checkpoint::load(&path).unwrap();
    assert!(ck.contains("ema.0.weight") && ck.contains("ema.1.running_mean"));
    let (resumed, mut b) = build();
    b.resume(&resumed, &path).unwrap();
    for _ in 0..2 {
        b.epoch(&resumed, &CrossEntropy::default(), &loaders).unwrap();
    }
    let bits = |t: &Trainer<f64>| -> Vec<u64> {
        t.ema().unwrap().iter().flat_map(|(_, v)| v.to_vec()).map(f64::to_bits).collect()
    };
    assert_eq!(bits(&b), bits(&t));
    std::fs::remove_dir_all(&dir).ok();
}

/// A schedule-free method is judged at its evaluation weights x (Optax's
/// `schedule_free_eval_params`), not at the y its gradients are taken at;
/// the model keeps y afterwards.
#[test]
fn schedule_free_runs_are_evaluated_at_their_evaluation_weights() {
    let data = common::blobs(200, 4);
    let loader = DataLoader::new(std::sync::Arc::clone(&data), 20).shuffle(2);
    let eval = DataLoader::new(data, 100);
    let loaders = Loaders { train: &loader, monitor: &eval, test: &eval };
    let model = ModelSpec::parse("mlp(2, 8, 4)").unwrap().build::<f64>(1);
    let optim = Optimizer::boxed(gradus::optim::parse("schedule_free_sgd(lr=0.2, momentum=0.9)").unwrap());
    let mut trainer = Trainer::new(optim);
    let m = trainer.epoch(&model, &CrossEntropy::default(), &loaders).unwrap();
    let at_y = evaluate(&model, &CrossEntropy::default(), &eval).unwrap();
    assert_ne!(at_y.loss, m.test_loss, "evaluated at y");
    for (_, p) in model.named_parameters() {
        let y = p.value().to_vec();
        let x = trainer.optim().eval_params(p.id().0, &y).expect("x after a step");
        p.set(Tensor::from_vec(x, &p.shape()).unwrap());
    }
    let at_x = evaluate(&model, &CrossEntropy::default(), &eval).unwrap();
    assert_eq!((at_x.loss, at_x.accuracy), (m.test_loss, m.test_accuracy));
}

/// SWA from the second of four epochs with SWALR and update_bn equals
/// torch.optim.swa_utils on the same network, data and order: the rate
/// after each epoch, and the average's parameters and batch-norm
/// statistics.
#[test]
fn swa_equals_pytorchs_swa_utils() {
    use gradus::data::{Features, InMemory, Targets};
    let r = reference(include_str!("data/pytorch_swa.txt"));
    let model = ModelSpec::parse("seq(linear(3, 4), batchnorm1d(4), tanh, linear(4, 2))").unwrap().build::<f64>(0);
    for (name, p) in model.named_parameters() {
        p.set(r[&format!("init.{name}")].clone());
    }
    let y = r["y"].to_vec().iter().map(|&v| v as usize).collect();
    let data = InMemory::new(Features::F64(r["x"].to_vec()), vec![3], Targets::Classes(y)).unwrap();
    let loader = DataLoader::new(std::sync::Arc::new(data), 5);
    let loaders = Loaders { train: &loader, monitor: &loader, test: &loader };
    let optim = Optimizer::boxed(gradus::optim::parse("sgd(lr=0.1, momentum=0.9)").unwrap());
    let mut trainer = Trainer::new(optim).with_swa(2, Some(0.05), 2).unwrap();
    let mut lrs = Vec::new();
    for epoch in 1..=4 {
        let m = trainer.epoch(&model, &CrossEntropy::default(), &loaders).unwrap();
        lrs.push(m.lr);
        let (loss, _) = m.swa_test.unwrap();
        assert_eq!(loss.is_nan(), epoch < 2, "epoch {epoch}: the average is evaluated from its start");
    }
    for (got, want) in lrs.iter().zip(r["lr"].to_vec()) {
        assert!((got - want).abs() <= 1e-15 * want, "rates {lrs:?}, PyTorch {:?}", r["lr"].to_vec());
    }
    assert_eq!(trainer.ema_updates(), Some(3));
    let values = trainer.ema().unwrap();
    assert_eq!(values.len(), 8, "parameters and batch norm's running statistics");
    for (name, v) in values {
        let want = &r[&format!("swa.{name}")];
        for (a, b) in v.to_vec().iter().zip(want.to_vec()) {
            assert!((a - b).abs() <= 1e-12 * b.abs().max(1e-3), "{name}: gradus {a}, PyTorch {b}");
        }
    }
    let t = || Trainer::<f64>::new(Optimizer::boxed(gradus::optim::parse("sgd").unwrap()));
    assert!(t().with_swa(0, None, 10).is_err());
    assert!(t().with_swa(1, Some(-1.0), 10).is_err());
    let both = t().with_ema(0.9).unwrap().with_swa(1, None, 10).err().unwrap().to_string();
    assert!(both.contains("already keeps an average (ema)"), "{both}");
}
