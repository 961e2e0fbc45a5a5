//! The learning-rate range test: fastai's curve and suggestions, and a
//! model, optimiser and trainer left exactly as they were.

use super::common::blobs;
use gradus::data::{Features, InMemory, Targets};
use gradus::lr_find::{LrFindOptions, steep, valley};
use gradus::prelude::*;
use std::sync::Arc;

#[test]
fn fastai_suggestions_on_worked_curves() {
    // Values from fastai's own functions (fastai/callback/schedule.py) run
    // on the same lists in Python.
    let lrs: Vec<f64> = (0..12).map(|i| i as f64).collect();
    assert_eq!(valley(&lrs, &[9.0, 8.0, 9.5, 7.0, 6.5, 8.0, 5.0, 4.0, 4.5, 3.0, 2.0, 8.0]), 5.0);
    let lrs = [1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0];
    // Steepest fall per decade: from 1e-2 to 1e-1 (3.0 → 1.0).
    assert_eq!(steep(&lrs, &[4.0, 3.9, 3.0, 1.0, 0.9, 5.0]), 1e-2);
}

#[test]
fn the_sweep_follows_fastai_and_leaves_no_trace() {
    let data = blobs(256, 1);
    let loader = DataLoader::new(Arc::clone(&data), 32).shuffle(3);
    let spec =
        gradus::models::ModelSpec::parse("seq(linear(2, 16), batchnorm1d(16), relu, dropout(0.2), linear(16, 4))")
            .unwrap();
    let model = spec.build::<f64>(2);
    let mut trainer = Trainer::new(Optimizer::boxed(gradus::optim::parse("adam(lr=0.003)").unwrap()));
    // One epoch first, so the optimiser has state to keep.
    trainer
        .epoch(&model, &CrossEntropy::default(), &Loaders { train: &loader, monitor: &loader, test: &loader })
        .unwrap();
    let snapshot = |m: &Sequential<f64>| {
        let mut ck = gradus::nn::Checkpoint::new();
        gradus::nn::checkpoint::store(m, &mut ck, "");
        ck.names()
            .map(|n| (n.to_string(), ck.describe(n), ck.get::<f64>(n).map(|t| t.to_vec()).ok(), ck.get_u64(n).ok()))
            .collect::<Vec<_>>()
    };
    let (before, state, counters) = (snapshot(&model), trainer.optim().export(), trainer.counters());

    let options = LrFindOptions { num_iter: 30, ..Default::default() };
    let found = trainer.lr_find(&model, &CrossEntropy::default(), &loader, &options).unwrap();
    // 30 steps over 8 batches an epoch: the sweep runs into later epochs.
    assert!(found.rows.len() > 8, "{}", found.rows.len());
    let mut average = 0.0;
    for (i, r) in found.rows.iter().enumerate() {
        assert_eq!(r.step, i);
        assert!((r.lr - 1e-7 * (1e8f64).powf(i as f64 / 30.0)).abs() <= 1e-15 * r.lr);
        average = 0.98 * average + 0.02 * r.loss;
        assert!((r.smoothed - average / (1.0 - 0.98f64.powi(i as i32 + 1))).abs() < 1e-12);
    }
    let best = found.rows.iter().map(|r| r.smoothed).fold(f64::INFINITY, f64::min);
    let last = found.rows.last().unwrap();
    assert!(found.rows.len() == 30 || last.smoothed > 4.0 * best || last.smoothed.is_nan(), "{last:?}");
    assert!(found.valley.is_some() && found.steep.is_some());

    assert_eq!(snapshot(&model), before, "the model changed");
    assert_eq!(trainer.optim().export(), state, "the optimiser changed");
    assert_eq!(trainer.counters(), counters);
    assert_eq!(trainer.optim().groups()[0].lr, 0.003);
    assert_eq!(model.training(), Some(true));
}

#[test]
fn a_blow_up_stops_the_sweep() {
    // Random labels: no rate drives the loss to zero, and large ones blow it up.
    let mut rng = rand::rngs::StdRng::seed_from_u64(4);
    let x = (0..512).map(|_| rand::Rng::random_range(&mut rng, -1.0..1.0)).collect();
    let y = (0..256).map(|_| rand::Rng::random_range(&mut rng, 0..4)).collect();
    let data: Arc<dyn Dataset> = Arc::new(InMemory::new(Features::F64(x), vec![2], Targets::Classes(y)).unwrap());
    let loader = DataLoader::new(data, 16).shuffle(1);
    let model: Sequential<f32> = Mlp::new(&[2, 32, 4]).build(&mut rand::rngs::StdRng::seed_from_u64(1));
    let mut trainer = Trainer::new(Optimizer::boxed(gradus::optim::parse("sgd(lr=0.1, momentum=0.9)").unwrap()));
    let options = LrFindOptions { start_lr: 1e-3, end_lr: 1e6, num_iter: 200, ..Default::default() };
    let found = trainer.lr_find(&model, &CrossEntropy::default(), &loader, &options).unwrap();
    let last = found.rows.last().unwrap();
    let best = found.rows.iter().map(|r| r.smoothed).filter(|s| s.is_finite()).fold(f64::INFINITY, f64::min);
    assert!(found.rows.len() < 200 && (last.smoothed > 4.0 * best || !last.smoothed.is_finite()), "{last:?}");
    // The suggestion lies where the loss was still falling, far below the blow-up.
    let valley = found.valley.unwrap();
    assert!(valley < last.lr / 10.0, "valley {valley} vs blow-up at {}", last.lr);
}

#[test]
fn bad_options_and_a_schedule_are_handled() {
    let loader = DataLoader::new(blobs(64, 2), 16);
    let model: Sequential<f32> = Mlp::new(&[2, 8, 4]).build(&mut rand::rngs::StdRng::seed_from_u64(1));
    let sched = gradus::sched::parse("onecycle(max_lr=0.1, total_steps=40)").unwrap();
    let mut trainer = Trainer::new(Optimizer::boxed(gradus::optim::parse("sgd(lr=0.1)").unwrap()))
        .with_schedule(sched, Every::Batch)
        .unwrap();
    let lr = trainer.optim().groups()[0].lr;
    for bad in [
        LrFindOptions { start_lr: 0.0, ..Default::default() },
        LrFindOptions { end_lr: 1e-8, ..Default::default() },
        LrFindOptions { num_iter: 0, ..Default::default() },
        LrFindOptions { beta: 1.0, ..Default::default() },
    ] {
        let e = trainer.lr_find(&model, &CrossEntropy::default(), &loader, &bad).unwrap_err();
        assert!(matches!(e, GradusError::Config(_)), "{e}");
    }
    // Past the one-cycle schedule's 40 steps: the sweep drives the rate
    // itself, and the schedule is back afterwards.
    let found = trainer.lr_find(&model, &CrossEntropy::default(), &loader, &LrFindOptions::default()).unwrap();
    assert!(found.rows.len() > 40 || found.rows.last().unwrap().smoothed > 0.0);
    assert!(trainer.has_schedule());
    assert_eq!(trainer.optim().groups()[0].lr, lr);
}
