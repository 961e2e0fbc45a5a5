//! The trainer's gradient rules: accumulation over micro-batches equals the
//! whole batch's step, adaptive clipping equals Optax's, global-norm
//! clipping is PyTorch's, and non-finite steps are skipped and counted up
//! to a limit.

mod common;

use common::blobs;
use gradus::data::{Dataset, Features, InMemory, Targets};
use gradus::prelude::*;
use gradus::{GradientRules, adaptive_clip};
use std::sync::Arc;

fn mlp<T: gradus::tensor::Float>() -> Sequential<T> {
    Mlp::new(&[2, 16, 4]).activation(Activation::Tanh).build(&mut rand::rngs::StdRng::seed_from_u64(3))
}

fn weights<T: gradus::tensor::Float>(model: &Sequential<T>) -> Vec<f64> {
    model.named_parameters().iter().flat_map(|(_, p)| p.value().to_vec()).map(|x| x.as_f64()).collect()
}

/// 20 steps of Adam on batches of 24 split into `parts` micro-batches.
fn train<T: gradus::tensor::Float>(parts: usize) -> Vec<f64> {
    let data = blobs(480, 7);
    let loader = DataLoader::new(data, 24).shuffle(1);
    let model = mlp::<T>();
    let rules = GradientRules { accumulate: parts, ..Default::default() };
    let optim = Optimizer::boxed(gradus::optim::parse("adam(lr=0.01)").unwrap());
    let mut trainer = Trainer::new(optim).with_gradient_rules(rules).unwrap();
    for batch in loader.epoch::<T>(0) {
        let batch = batch.unwrap();
        trainer.step(&model, &CrossEntropy::default(), &Var::constant(batch.features), &batch.targets, None).unwrap();
    }
    weights(&model)
}

#[test]
fn accumulated_micro_batches_equal_the_whole_batch() {
    // f64: to 1e-12 relative; f32: to 1e-6, for 1, 3, 4 and 5 parts (5
    // leaves a last micro-batch of 4 rows, weighted by its share).
    let (whole64, whole32) = (train::<f64>(1), train::<f32>(1));
    for parts in [3, 4, 5] {
        for (i, (a, b)) in train::<f64>(parts).iter().zip(&whole64).enumerate() {
            assert!((a - b).abs() <= 1e-12 * b.abs().max(1e-3), "f64, {parts} parts, weight {i}: {a} vs {b}");
        }
        for (i, (a, b)) in train::<f32>(parts).iter().zip(&whole32).enumerate() {
            assert!((a - b).abs() <= 1e-6 * b.abs().max(1e-2), "f32, {parts} parts, weight {i}: {a} vs {b}");
        }
    }
    assert!(
        Trainer::<f32>::new(Optimizer::boxed(gradus::optim::parse("sgd").unwrap()))
            .with_gradient_rules(GradientRules { accumulate: 0, ..Default::default() })
            .is_err()
    );
}

/// One adaptive-clipping case: name, λ, shape, parameter, gradient, and
/// Optax's clipped gradient.
type AgcCase = (String, f64, Vec<usize>, Vec<f64>, Vec<f64>, Vec<f64>);

/// `case key shape values…` lines of the Optax reference file.
fn agc_cases() -> Vec<AgcCase> {
    let text = include_str!("data/optax_agc.txt");
    let mut names: Vec<String> = Vec::new();
    let mut rows = std::collections::HashMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let mut parts = line.splitn(4, ' ');
        let (case, key, shape, values) =
            (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
        if !names.iter().any(|n| n == case) {
            names.push(case.to_string());
        }
        let shape: Vec<usize> = shape.split(',').map(|d| d.parse().unwrap()).collect();
        let values: Vec<f64> = values.split(' ').map(|v| v.parse().unwrap()).collect();
        rows.insert((case.to_string(), key.to_string()), (shape, values));
    }
    names
        .into_iter()
        .map(|n| {
            let get = |k: &str| rows[&(n.clone(), k.to_string())].clone();
            let (shape, param) = get("param");
            (n.clone(), get("clipping").1[0], shape, param, get("grad").1, get("clipped").1)
        })
        .collect()
}

#[test]
fn adaptive_clipping_equals_optaxs() {
    let cases = agc_cases();
    assert_eq!(cases.len(), 6);
    for (name, clipping, shape, param, grad, want) in cases {
        let mut g = grad.clone();
        adaptive_clip(&param, &shape, &mut g, clipping);
        for (i, (a, b)) in g.iter().zip(&want).enumerate() {
            assert!((a - b).abs() <= 1e-12 * b.abs().max(1e-12), "{name} [{i}]: gradus {a}, Optax {b}");
        }
        // Some units are clipped, and a clipped unit's norm is the bound.
        assert!(name == "linear_small_grads" || g != grad, "{name}: nothing was clipped");
    }
}

#[test]
fn global_norm_clipping_scales_the_step_as_pytorch() {
    // One SGD step at rate 1 from the same batch, with and without
    // clipping: the clipped step is the plain one times max/(‖g‖ + 1e-6).
    let batch = blobs(32, 3);
    let loader = DataLoader::new(batch, 32);
    let step = |rules: GradientRules| {
        let model = mlp::<f64>();
        let before = weights(&model);
        let mut t = Trainer::new(Optimizer::boxed(gradus::optim::parse("sgd(lr=1)").unwrap()))
            .with_gradient_rules(rules)
            .unwrap();
        let b = loader.epoch::<f64>(0).next().unwrap().unwrap();
        t.step(&model, &CrossEntropy::default(), &Var::constant(b.features), &b.targets, None).unwrap();
        weights(&model).iter().zip(&before).map(|(a, b)| b - a).collect::<Vec<f64>>()
    };
    let plain = step(GradientRules::default());
    let norm = plain.iter().map(|g| g * g).sum::<f64>().sqrt();
    let clipped = step(GradientRules { clip_norm: Some(0.1), ..Default::default() });
    let coef = 0.1 / (norm + 1e-6);
    assert!(coef < 1.0, "the gradient's norm {norm} is above the bound");
    for (c, p) in clipped.iter().zip(&plain) {
        assert!((c - p * coef).abs() <= 1e-12 * p.abs().max(1e-9), "{c} vs {}", p * coef);
    }
    // A bound above the norm changes nothing.
    assert_eq!(step(GradientRules { clip_norm: Some(norm * 2.0), ..Default::default() }), plain);
}

/// Rows of two blobs in which rows `bad` have a NaN feature.
fn with_nans(bad: &[usize]) -> Arc<dyn Dataset> {
    let mut x = Vec::new();
    for i in 0..40usize {
        let v = if bad.contains(&i) { f64::NAN } else { (i % 2) as f64 * 2.0 - 1.0 };
        x.extend([v, -v]);
    }
    let y = (0..40).map(|i| i % 2).collect();
    Arc::new(InMemory::new(Features::F64(x), vec![2], Targets::Classes(y)).unwrap())
}

#[test]
fn non_finite_steps_are_skipped_and_counted_up_to_the_limit() {
    let run = |bad: &[usize], limit: Option<usize>| {
        // Batches of 4 in order: a NaN in row r spoils batch r / 4.
        let loader = DataLoader::new(with_nans(bad), 4);
        let model = mlp::<f64>();
        let rules = GradientRules { skip_nonfinite: limit, ..Default::default() };
        let mut t = Trainer::new(Optimizer::boxed(gradus::optim::parse("sgd(lr=0.1)").unwrap()))
            .with_gradient_rules(rules)
            .unwrap();
        let clean = DataLoader::new(with_nans(&[]), 40);
        let m = t.epoch(&model, &CrossEntropy::default(), &Loaders { train: &loader, monitor: &clean, test: &clean });
        (m, t.counters().0, weights(&model))
    };
    // Batches 2 and 5 spoilt: both skipped, all 10 steps counted, the
    // weights finite.
    let (m, steps, w) = run(&[9, 21], Some(1));
    let m = m.unwrap();
    assert_eq!((m.skipped, steps), (Some(2), 10));
    assert!(
        m.csv_header().contains(",skipped,") && m.csv_row().split(',').count() == m.csv_header().split(',').count()
    );
    assert!(w.iter().all(|x| x.is_finite()));
    // Two in a row with a limit of 1: the run stops, naming the limit.
    let (m, _, _) = run(&[9, 13], Some(1));
    let e = m.unwrap_err().to_string();
    assert!(e.contains("the 1 steps before were skipped already (--skip-nonfinite 1)"), "{e}");
    // Without the rule the first one stops the run, as before.
    let (m, _, _) = run(&[9], None);
    assert!(m.unwrap_err().to_string().contains("the training loss is NaN"));
    let (m, _, _) = run(&[], None);
    assert_eq!(m.unwrap().skipped, None);
}

/// SAM's step is the inner optimiser's from θ with the gradient at
/// θ + ρ·g/‖g‖ (ASAM: θ + ρ·θ²·g/‖θ·g‖), each gradient found here by a
/// plain SGD step of rate 1 from the point (g = q − q'); batch norm's
/// running statistics move once, as on a plain step.
#[test]
fn sam_steps_with_the_gradient_at_the_perturbed_point() {
    let data = blobs(64, 5);
    let batch = DataLoader::new(data, 32).epoch::<f64>(0).next().unwrap().unwrap();
    let x = Var::constant(batch.features);
    let build = || gradus::models::ModelSpec::parse("mlp(2, 8, 4, batch_norm=true)").unwrap().build::<f64>(4);
    let set = |model: &dyn Module<f64>, w: &[f64]| {
        let mut at = 0;
        for (_, p) in model.named_parameters() {
            let n = p.value().numel();
            p.set(Tensor::from_vec(w[at..at + n].to_vec(), &p.shape()).unwrap());
            at += n;
        }
    };
    let step = |spec: &str, w: &[f64]| {
        let model = build();
        set(&model, w);
        let mut trainer = Trainer::new(Optimizer::boxed(gradus::optim::parse(spec).unwrap()));
        trainer.step(&model, &CrossEntropy::default(), &x, &batch.targets, None).unwrap();
        let stats: Vec<f64> = model.named_buffers().iter().flat_map(|(_, b)| b.value().to_vec()).collect();
        (weights(&model), stats)
    };
    let gradient = |w: &[f64]| -> Vec<f64> { w.iter().zip(step("sgd(lr=1)", w).0).map(|(a, b)| a - b).collect() };
    let theta = weights(&build());
    let g = gradient(&theta);
    for adaptive in [false, true] {
        let (rho, lr) = (0.3, 0.1);
        let scaled: Vec<f64> = theta.iter().zip(&g).map(|(t, g)| if adaptive { t.abs() * g } else { *g }).collect();
        let norm = scaled.iter().map(|v| v * v).sum::<f64>().sqrt();
        let q: Vec<f64> = theta
            .iter()
            .zip(&g)
            .map(|(t, g)| t + (if adaptive { t * t * g } else { *g }) * rho / (norm + 1e-12))
            .collect();
        let want: Vec<f64> = theta.iter().zip(gradient(&q)).map(|(t, g)| t - lr * g).collect();
        let (got, stats) = step(&format!("sam(sgd(lr={lr}), rho={rho}, adaptive={adaptive})"), &theta);
        for (i, (a, b)) in got.iter().zip(&want).enumerate() {
            assert!((a - b).abs() <= 1e-12 * b.abs().max(1e-3), "adaptive={adaptive}, weight {i}: {a} vs {b}");
        }
        assert_eq!(stats, step("sgd(lr=0.1)", &theta).1, "running statistics moved once");
    }
}
