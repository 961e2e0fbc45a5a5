//! Sophia-H through the trainer: Hutchinson's estimate of the Hessian's
//! diagonal is unbiased (its mean over many probes is the diagonal of the
//! exact Hessian, from Hessian-vector products with unit vectors), the
//! method follows its definition on a quadratic, and it trains.

mod common;

use gradus::hessian::{LossHessian, hutchinson_diagonal};
use gradus::optim::{Optimizer, Sophia, SophiaConfig};
use gradus::prelude::*;
use std::sync::Arc;

#[test]
fn hutchinsons_estimate_averages_to_the_hessians_diagonal() {
    let data = common::blobs(24, 2);
    let loader = DataLoader::new(Arc::clone(&data), 24);
    let batch = loader.epoch::<f64>(0).next().unwrap().unwrap();
    let model = gradus::models::ModelSpec::parse("mlp(2, 3, 4, act=tanh)").unwrap().build::<f64>(5);
    model.eval();
    let params = model.named_parameters();
    let x = Var::constant(batch.features.clone());
    let probes = 4000;
    let mut mean = vec![0.0f64; 0];
    for s in 0..probes {
        let e: Vec<f64> =
            hutchinson_diagonal(&model, &CrossEntropy::default(), &x, &batch.targets, &params, s).unwrap().concat();
        mean.resize(e.len(), 0.0);
        mean.iter_mut().zip(e).for_each(|(m, v)| *m += v / probes as f64);
    }
    let h = LossHessian::new(&model, &CrossEntropy::default(), &loader).unwrap();
    let n = h.dimension();
    let exact: Vec<f64> = (0..n)
        .map(|i| {
            let mut e = vec![0.0; n];
            e[i] = 1.0;
            h.apply(&e).unwrap()[i]
        })
        .collect();
    let scale = exact.iter().map(|v| v.abs()).fold(0.0, f64::max);
    for (i, (m, d)) in mean.iter().zip(&exact).enumerate() {
        // The estimate's spread is the Hessian's off-diagonal mass over √probes.
        assert!((m - d).abs() <= 0.08 * scale, "coordinate {i}: mean of estimates {m}, diagonal {d}");
    }
}

/// With the exact diagonal every step, β₁ = β₂ = 0 and ρ = 1, Sophia's step on
/// ½Σ dᵢθᵢ² is θ ← θ − η·clip(θ, ±1): the same contraction whatever the
/// curvature, where gradient descent's would differ by the condition
/// number (here 1000).
#[test]
fn on_a_quadratic_sophia_contracts_every_coordinate_alike() {
    let config = SophiaConfig { lr: 0.1, betas: (0.0, 0.0), rho: 1.0, weight_decay: 0.0, k: 1 };
    let mut opt = Optimizer::<f64>::new(Sophia::new(config).unwrap());
    let d = [1.0, 1000.0];
    let mut theta = vec![0.5, -0.8];
    let mut want = theta.clone();
    for _ in 0..20 {
        let g: Vec<f64> = theta.iter().zip(&d).map(|(t, d)| d * t).collect();
        opt.observe_curvature(0, &[2], &theta, gradus::optim::Estimate::HessianDiagonal(&d)).unwrap();
        opt.update(0, &mut theta, &g).unwrap();
        let h: Vec<f64> = opt.state(0).unwrap().slots[1].clone();
        want = want.iter().zip(&d).zip(&h).map(|((w, d), h)| w - 0.1 * (d * w / h).clamp(-1.0, 1.0)).collect();
        for (a, b) in theta.iter().zip(&want) {
            assert!((a - b).abs() <= 1e-15, "{theta:?} vs {want:?}");
        }
    }
    assert!((theta[0] / 0.5 - theta[1] / -0.8).abs() < 1e-12, "both contracted alike: {theta:?}");
}

#[test]
fn sophia_trains_a_network() {
    let data = common::blobs(400, 3);
    let loader = DataLoader::new(Arc::clone(&data), 40).shuffle(1);
    let eval = DataLoader::new(data, 400);
    let loaders = Loaders { train: &loader, monitor: &eval, test: &eval };
    let model = gradus::models::ModelSpec::parse("mlp(2, 16, 4, batch_norm=true)").unwrap().build::<f32>(2);
    let optim = Optimizer::boxed(gradus::optim::parse("sophia(lr=0.02, k=5)").unwrap());
    let mut trainer = Trainer::new(optim);
    let first = trainer.epoch(&model, &CrossEntropy::default(), &loaders).unwrap();
    let mut last = first.clone();
    for _ in 0..4 {
        last = trainer.epoch(&model, &CrossEntropy::default(), &loaders).unwrap();
    }
    assert!(last.test_loss < 0.7 * first.test_loss && last.test_accuracy > 0.9, "{first:?} → {last:?}");
    let h = &trainer.optim().state(model.named_parameters()[0].1.id().0).unwrap().slots[1];
    assert!(h.iter().any(|v| *v != 0.0), "the diagonal's average was fed");
}
