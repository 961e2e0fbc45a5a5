//! The training loop end to end on a small synthetic set, its metrics and
//! schedules, and the plots.

mod common;

use common::blobs;
use gradus::data::{Features, InMemory, Targets};
use gradus::prelude::*;
use gradus::sched::parse;
use std::sync::Arc;

fn model() -> Sequential<f32> {
    Mlp::new(&[2, 16, 4]).build(&mut rand::rngs::StdRng::seed_from_u64(3))
}

#[test]
fn a_trainer_learns_and_reports_every_epoch() {
    let (train, test) = (blobs(800, 1), blobs(400, 2));
    let loader = DataLoader::new(Arc::clone(&train), 32).shuffle(5);
    let (monitor, test) = (DataLoader::new(train, 200), DataLoader::new(test, 200));
    let model = model();
    let mut trainer = Trainer::new(Optimizer::boxed(gradus::optim::parse("adam(lr=0.01)").unwrap()));
    let loss = CrossEntropy::default();
    let mut last = None;
    for epoch in 1..=5 {
        let m = trainer.epoch(&model, &loss, &Loaders { train: &loader, monitor: &monitor, test: &test }).unwrap();
        assert_eq!(m.epoch, epoch);
        assert_eq!(m.grad_norms.len(), 4);
        assert_eq!(m.dead_units.len(), 1, "one ReLU layer, named `1`: {:?}", m.dead_units);
        assert!(m.dead_units[0].0 == "1" && (0.0..=1.0).contains(&m.dead_units[0].1));
        assert!(m.saturated.is_empty());
        last = Some(m);
    }
    let m = last.unwrap();
    assert!(m.test_accuracy > 0.97 && m.train_accuracy > 0.97, "{m:?}");
    assert!(m.csv_header().starts_with(
        "epoch,train_loss,train_accuracy,test_loss,test_accuracy,lr,seconds,test_top5_accuracy,grad_norm:0.weight"
    ));
    assert!(m.csv_header().ends_with(",grad_norm:2.bias,dead:1"), "{}", m.csv_header());
    assert_eq!(m.csv_row().split(',').count(), m.csv_header().split(',').count());
    // Evaluation equals what the trainer reported.
    let again = evaluate(&model, &loss, &test).unwrap();
    assert_eq!(again.accuracy, m.test_accuracy);
    // Four classes: every target is among the top 5.
    assert_eq!((again.top5_accuracy, m.test_top5_accuracy), (1.0, 1.0));
}

/// A tanh network with weights scaled up saturates; the trainer counts it
/// on the monitoring subset.
#[test]
fn saturated_tanh_units_are_reported() {
    let train = blobs(200, 1);
    let model: Sequential<f32> =
        Mlp::new(&[2, 16, 4]).activation(Activation::Tanh).build(&mut rand::rngs::StdRng::seed_from_u64(3));
    let w = &model.named_parameters()[0].1;
    w.set(&w.value() * 50.0);
    let loader = DataLoader::new(Arc::clone(&train), 50);
    let mut trainer = Trainer::new(Optimizer::boxed(gradus::optim::parse("sgd(lr=1e-6)").unwrap()));
    let m = trainer
        .epoch(&model, &CrossEntropy::default(), &Loaders { train: &loader, monitor: &loader, test: &loader })
        .unwrap();
    assert!(m.dead_units.is_empty());
    assert_eq!(m.saturated.len(), 1);
    assert!(m.saturated[0].1 > 0.8, "inputs of size ~2 times weights ×50: {:?}", m.saturated);
    assert!(m.csv_header().ends_with(",saturated:1"));
}

#[test]
fn top_k_counts_ties_for_the_target() {
    let logits = Tensor::from_vec(vec![1.0f32, 3.0, 3.0, 2.0, 0.0, 5.0, 4.0, 4.0], &[2, 4]).unwrap();
    assert_eq!(gradus::top_k_correct(&logits, &[2, 0], 1), 1, "row 1: 3.0 ties the best");
    assert_eq!(gradus::top_k_correct(&logits, &[3, 0], 2), 0);
    assert_eq!(gradus::top_k_correct(&logits, &[3, 0], 3), 1);
    assert_eq!(gradus::top_k_correct(&logits, &[3, 0], 4), 2);
}

#[test]
fn schedules_drive_the_rate_per_batch_per_epoch_and_on_plateaus() {
    let train = blobs(64, 1);
    let loader = DataLoader::new(Arc::clone(&train), 16);
    let eval = DataLoader::new(train, 64);
    let loss = CrossEntropy::default();
    let onecycle = parse("onecycle(max_lr=0.1, total_steps=8)").unwrap();
    let mut t = Trainer::new(Optimizer::boxed(gradus::optim::parse("sgd(lr=0.1, momentum=0.9)").unwrap()))
        .with_schedule(onecycle, Every::Batch)
        .unwrap();
    let m = t.epoch(&model(), &loss, &Loaders { train: &loader, monitor: &eval, test: &eval }).unwrap();
    // After 4 steps the rate is one-cycle's value at step 4 and momentum was cycled.
    let Schedule::Steps(reference) = parse("onecycle(max_lr=0.1, total_steps=8)").unwrap() else { panic!() };
    assert_eq!(m.lr, reference.lr(0.1, 4));
    assert_eq!(t.optim().groups()[0].rule.momentum(), reference.momentum(4));
    let step = parse("step(step_size=1, gamma=0.5)").unwrap();
    let mut t = Trainer::new(Optimizer::boxed(gradus::optim::parse("sgd(lr=0.1)").unwrap()))
        .with_schedule(step, Every::Epoch)
        .unwrap();
    let net = model();
    assert_eq!(t.epoch(&net, &loss, &Loaders { train: &loader, monitor: &eval, test: &eval }).unwrap().lr, 0.05);
    assert_eq!(t.epoch(&net, &loss, &Loaders { train: &loader, monitor: &eval, test: &eval }).unwrap().lr, 0.025);
    let plateau = || parse("plateau(patience=0, factor=0.5, threshold=100, threshold_mode=abs)").unwrap();
    let sgd = || Optimizer::boxed(gradus::optim::parse("sgd(lr=0.1)").unwrap());
    // The plateau observes the test loss once an epoch; per batch is refused.
    let err = Trainer::<f32>::new(sgd()).with_schedule(plateau(), Every::Batch).err().unwrap();
    assert!(err.to_string().contains("cannot advance every batch"), "{err}");
    let mut t = Trainer::new(sgd()).with_schedule(plateau(), Every::Epoch).unwrap();
    // The first epoch sets the best loss; no later loss beats it by 100: halved.
    assert_eq!(t.epoch(&net, &loss, &Loaders { train: &loader, monitor: &eval, test: &eval }).unwrap().lr, 0.1);
    assert_eq!(t.epoch(&net, &loss, &Loaders { train: &loader, monitor: &eval, test: &eval }).unwrap().lr, 0.05);
}

/// An epoch's metrics for the plot tests.
fn metrics(epoch: usize, train_loss: f64, test_loss: f64, accuracy: f64) -> gradus::EpochMetrics {
    gradus::EpochMetrics {
        epoch,
        train_loss,
        train_accuracy: accuracy,
        test_loss,
        test_accuracy: accuracy,
        test_top5_accuracy: 1.0,
        lr: 0.1,
        seconds: 1.0,
        grad_norms: vec![],
        dead_units: vec![],
        saturated: vec![],
        sharpness: None,
        noise: None,
        bits_per_byte: false,
        skipped: None,
        ema_test: None,
        swa_test: None,
        step_losses: (0..10).map(|i| train_loss * (1.2 - 0.02 * i as f64)).collect(),
    }
}

#[test]
fn plots_are_written_as_svg() {
    let dir = std::env::temp_dir().join(format!("gradus-plots-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let m = |epoch: usize, acc: f64| metrics(epoch, 1.0 / epoch as f64, 1.1 / epoch as f64, acc);
    let runs = vec![("a".to_string(), vec![m(1, 0.5), m(2, 0.7)]), ("b".to_string(), vec![m(1, 0.6), m(2, 0.65)])];
    gradus::plot::learning_curves(&dir.join("lc.svg"), &runs).unwrap();
    let path = vec![("gd".to_string(), vec![(1.0, 1.0), (0.5, 0.25), (0.1, 0.0)])];
    gradus::plot::paths(
        &dir.join("p.svg"),
        "x² + y²",
        |x, y| x * x + y * y,
        (-1.0, 1.0),
        (-1.0, 1.0),
        &[(0.0, 0.0)],
        &path,
    )
    .unwrap();
    gradus::plot::schedule(&dir.join("s.svg"), "cosine", &[0.1, 0.05, 0.0], Some(&[0.9, 0.85, 0.9])).unwrap();
    for f in ["lc.svg", "p.svg", "s.svg"] {
        let text = std::fs::read_to_string(dir.join(f)).unwrap();
        assert!(text.starts_with("<svg") && text.contains("<polyline"), "{f}");
    }
    let err = gradus::plot::learning_curves(&dir.join("missing-dir/x.svg"), &runs).unwrap_err();
    assert!(err.to_string().starts_with("plot "), "{err}");
}

/// Values a diverging run or an overflowing schedule produces: every plot
/// still finishes (an infinite axis span once looped forever), leaves them
/// out and says how many.
#[test]
fn plots_finish_and_say_what_they_left_out() {
    let dir = std::env::temp_dir().join(format!("gradus-plots-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let m = |epoch: usize, loss: f64| metrics(epoch, loss, loss, 0.1);
    let runs = vec![("a".to_string(), vec![m(1, 2.3), m(2, 1e300), m(3, -1e300), m(4, f64::NAN), m(5, f64::INFINITY)])];
    gradus::plot::learning_curves(&dir.join("lc.svg"), &runs).unwrap();
    let text = std::fs::read_to_string(dir.join("lc.svg")).unwrap();
    assert!(text.contains("8 values left out: non-finite or beyond ±1e100"), "the note is missing");
    let lrs = [0.1, 1e200, f64::INFINITY, f64::NAN, 1e-300, 0.2];
    gradus::plot::schedule(&dir.join("s.svg"), "exponential(gamma=10)", &lrs, None).unwrap();
    assert!(std::fs::read_to_string(dir.join("s.svg")).unwrap().contains("3 values left out"));
    let far = vec![("gd".to_string(), vec![(0.5, 0.5), (1e200, -1e200), (f64::NAN, 0.0), (0.1, 0.1)])];
    let f = |x: f64, y: f64| x * x + y * y;
    gradus::plot::paths(&dir.join("p.svg"), "far", f, (-1.0, 1.0), (-1.0, 1.0), &[], &far).unwrap();
    assert!(std::fs::read_to_string(dir.join("p.svg")).unwrap().contains("2 iterates outside the window"));
    for window in [(-f64::INFINITY, 1.0), (1.0, 1.0), (0.0, 1e300)] {
        let e = gradus::plot::paths(&dir.join("w.svg"), "w", f, window, (-1.0, 1.0), &[], &far).unwrap_err();
        assert!(e.to_string().contains("is empty or not finite"), "{e}");
    }
    assert!(!dir.join("w.svg").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

fn snapshot(model: &Sequential<f32>) -> Vec<u32> {
    model.named_parameters().iter().flat_map(|(_, p)| p.value().to_vec()).map(f32::to_bits).collect()
}

#[test]
fn a_run_stopped_after_any_epoch_resumes_bit_identically() {
    let (train, test) = (blobs(256, 1), blobs(64, 2));
    let loader = DataLoader::new(Arc::clone(&train), 16).shuffle(3).workers(2);
    let (monitor, test) = (DataLoader::new(train, 64), DataLoader::new(test, 64));
    let loss = CrossEntropy::default();
    // Dropout (random masks), Adam (moments), one-cycle per batch (step count), shuffling (epoch).
    let build = || Mlp::new(&[2, 16, 16, 4]).dropout(0.3).build::<f32, _>(&mut rand::rngs::StdRng::seed_from_u64(9));
    let trainer = || {
        let s = parse("onecycle(max_lr=0.02, total_steps=64)").unwrap();
        Trainer::new(Optimizer::boxed(gradus::optim::parse("adam(lr=0.01, amsgrad=true)").unwrap()))
            .with_schedule(s, Every::Batch)
            .unwrap()
    };
    let straight = build();
    let mut t = trainer();
    let mut last = None;
    for _ in 0..4 {
        last = Some(t.epoch(&straight, &loss, &Loaders { train: &loader, monitor: &monitor, test: &test }).unwrap());
    }
    let path = std::env::temp_dir().join(format!("gradus-resume-{}.safetensors", std::process::id()));
    for stop in 1..4 {
        let first = build();
        let mut t1 = trainer();
        for _ in 0..stop {
            t1.epoch(&first, &loss, &Loaders { train: &loader, monitor: &monitor, test: &test }).unwrap();
        }
        t1.save(&first, &path).unwrap();
        // A fresh model (new parameter ids) and trainer, as in a new process.
        let resumed = build();
        let mut t2 = trainer();
        t2.resume(&resumed, &path).unwrap();
        let mut m = None;
        for _ in stop..4 {
            m = Some(t2.epoch(&resumed, &loss, &Loaders { train: &loader, monitor: &monitor, test: &test }).unwrap());
        }
        assert_eq!(snapshot(&resumed), snapshot(&straight), "stopped after epoch {stop}");
        let (a, b) = (m.unwrap(), last.clone().unwrap());
        assert_eq!((a.epoch, a.lr, a.test_loss), (b.epoch, b.lr, b.test_loss));
    }
    // A checkpoint of another model is refused, naming the mismatch.
    let other = Mlp::new(&[2, 8, 4]).build::<f32, _>(&mut rand::rngs::StdRng::seed_from_u64(0));
    let err = trainer().resume(&other, &path).unwrap_err().to_string();
    assert!(err.contains("shape"), "{err}");
}

#[test]
fn epoch_with_reports_every_batch() {
    let train = blobs(100, 1);
    let loader = DataLoader::new(Arc::clone(&train), 16);
    let eval = DataLoader::new(train, 100);
    let mut t = Trainer::new(Optimizer::boxed(gradus::optim::parse("sgd(lr=0.1)").unwrap()));
    let mut seen = Vec::new();
    t.epoch_with(
        &model(),
        &CrossEntropy::default(),
        &Loaders { train: &loader, monitor: &eval, test: &eval },
        &mut |done, total, loss| seen.push((done, total, loss)),
    )
    .unwrap();
    assert_eq!(seen.iter().map(|s| (s.0, s.1)).collect::<Vec<_>>(), (1..=7).map(|d| (d, 7)).collect::<Vec<_>>());
    assert!(seen.iter().all(|s| s.2.is_finite() && s.2 > 0.0));
}

/// A module that uses one weight twice, as a tied encoder and decoder do:
/// y = w·(w·x), listed under both names.
struct Tied(gradus::nn::Param<f64>);

impl Module<f64> for Tied {
    fn forward(&self, tape: &Tape<f64>, x: &Var<f64>) -> Var<f64> {
        let w = self.0.var(tape);
        x.mul(&w).mul(&w)
    }
    fn visit<'a>(&'a self, v: &mut gradus::nn::Visitor<'a, '_, f64>) {
        v.param("encoder", &self.0);
        v.param("decoder", &self.0);
    }
}

#[test]
fn a_parameter_listed_twice_takes_one_step_with_the_gradient_of_both_uses() {
    let tied = Tied(gradus::nn::Param::new(Tensor::from_vec(vec![2.0], &[1, 1]).unwrap()));
    assert_eq!(tied.named_parameters().len(), 2);
    let mut trainer = Trainer::new(Optimizer::boxed(gradus::optim::parse("sgd(lr=0.01)").unwrap()));
    let loss = gradus::loss::Regression::Mse(Reduction::Mean);
    let x = Var::constant(Tensor::from_vec(vec![1.0], &[1, 1]).unwrap());
    let y = gradus::loss::BatchTargets::Values(Tensor::from_vec(vec![0.0], &[1, 1]).unwrap());
    // Loss (w²x − 0)² = 16 at w = 2; its derivative 2·w²x·2wx = 32.
    assert_eq!(trainer.step(&tied, &loss, &x, &y, None).unwrap(), 16.0);
    let w = tied.0.value().item();
    assert!((w - (2.0 - 0.01 * 32.0)).abs() < 1e-12, "w = {w}: stepped once, with both uses' gradient");
}

/// Linear regression under the mean squared error has the constant
/// Hessian (2/N)·[X 1]ᵀ[X 1]: every sharpness measurement is its largest
/// eigenvalue, whatever the weights.
#[test]
fn sharpness_of_linear_regression_is_the_top_eigenvalue_of_its_constant_hessian() {
    let n = 64;
    let mut rng = rand::rngs::StdRng::seed_from_u64(4);
    let x: Vec<f64> = (0..n * 3).map(|i| rand::Rng::random_range(&mut rng, -1.0..1.0) * (1 + i % 3) as f64).collect();
    let y: Vec<f64> = (0..n).map(|i| x[3 * i] - 2.0 * x[3 * i + 2] + 0.5).collect();
    let data: Arc<dyn Dataset> =
        Arc::new(InMemory::new(Features::F64(x.clone()), vec![3], Targets::Values { data: y, width: 1 }).unwrap());
    // The dense Hessian of (1/N)Σ(w·x + b − y)² with respect to (w, b).
    let mut h = vec![0.0; 16];
    for i in 0..n {
        let row = [x[3 * i], x[3 * i + 1], x[3 * i + 2], 1.0];
        for a in 0..4 {
            for b in 0..4 {
                h[a * 4 + b] += 2.0 * row[a] * row[b] / n as f64;
            }
        }
    }
    let top = *Tensor::from_vec(h, &[4, 4]).unwrap().eigh().unwrap().0.to_vec().last().unwrap();
    let model: Sequential<f64> = Mlp::new(&[3, 1]).build(&mut rand::rngs::StdRng::seed_from_u64(1));
    let mut trainer = Trainer::new(Optimizer::boxed(gradus::optim::parse("sgd(lr=0.05)").unwrap())).with_sharpness(3);
    let loss = gradus::loss::Regression::Mse(Reduction::Mean);
    let (train, monitor) = (DataLoader::new(Arc::clone(&data), 16), DataLoader::new(data, 32));
    let mut epochs = Vec::new();
    for _ in 0..3 {
        epochs
            .push(trainer.epoch(&model, &loss, &Loaders { train: &train, monitor: &monitor, test: &monitor }).unwrap());
    }
    // 4 steps an epoch, a measurement every 3 steps: steps 3, 6, 9, 12.
    let points = trainer.sharpness();
    assert_eq!(points.iter().map(|p| (p.step, p.epoch)).collect::<Vec<_>>(), vec![(3, 1), (6, 2), (9, 3), (12, 3)]);
    for p in points {
        assert!((p.sharpness - top).abs() < 1e-6 * top, "{} vs dense {top}", p.sharpness);
        assert_eq!(p.lr, 0.05);
        assert!(p.products >= 1);
    }
    // Warm-started from the last eigenvector, later measurements are cheap.
    assert!(points[3].products <= 3, "{points:?}");
    assert_eq!(
        epochs.iter().map(|m| m.sharpness).collect::<Vec<_>>(),
        vec![Some(points[0].sharpness), Some(points[1].sharpness), Some(points[3].sharpness)]
    );
    assert!(epochs[0].csv_header().contains(",sharpness,") || epochs[0].csv_header().ends_with(",sharpness"));
    // (NaN accuracies of value targets: compared as written.)
    let back = EpochMetrics::from_csv(&epochs[2].csv_header(), &epochs[2].csv_row()).unwrap();
    assert_eq!((back.csv_row(), back.sharpness), (epochs[2].csv_row(), epochs[2].sharpness));
}

/// Measuring sharpness changes nothing in the run: a network with dropout
/// and batch norm trains to the same bits with and without it, and an
/// epoch without a measurement reports NaN.
#[test]
fn measuring_sharpness_leaves_the_run_unchanged() {
    let (train, test) = (blobs(96, 1), blobs(40, 2));
    let spec = gradus::models::ModelSpec::parse("seq(linear(2, 8), batchnorm1d(8), relu, dropout(0.3), linear(8, 4))")
        .unwrap();
    let run = |every: usize| {
        let model = spec.build::<f32>(5);
        let mut trainer =
            Trainer::new(Optimizer::boxed(gradus::optim::parse("adam(lr=0.01)").unwrap())).with_sharpness(every);
        let loader = DataLoader::new(Arc::clone(&train), 16).shuffle(2);
        let (monitor, test) = (DataLoader::new(Arc::clone(&train), 48), DataLoader::new(Arc::clone(&test), 40));
        let metrics: Vec<_> = (0..2)
            .map(|_| {
                trainer
                    .epoch(
                        &model,
                        &CrossEntropy::default(),
                        &Loaders { train: &loader, monitor: &monitor, test: &test },
                    )
                    .unwrap()
            })
            .collect();
        let state: Vec<Vec<f32>> = model
            .named_parameters()
            .iter()
            .map(|(_, p)| p.value().to_vec())
            .chain(model.named_buffers().iter().map(|(_, b)| b.value().to_vec()))
            .collect();
        (state, metrics, trainer.sharpness().len())
    };
    let (plain, plain_metrics, none) = run(0);
    let (measured, metrics, count) = run(4);
    assert_eq!(plain, measured);
    assert_eq!((none, count), (0, 3));
    assert_eq!(plain_metrics[1].test_loss, metrics[1].test_loss);
    assert!(plain_metrics[0].sharpness.is_none() && metrics[0].sharpness.unwrap() > 0.0);
    // 6 steps an epoch, every 7: epoch 1 has none.
    let (_, sparse, _) = run(7);
    assert!(sparse[0].sharpness.unwrap().is_nan() && sparse[1].sharpness.unwrap() > 0.0);
}
