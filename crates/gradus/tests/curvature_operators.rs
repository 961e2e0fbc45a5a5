//! The curvature operators against matrices built independently: the
//! Gauss–Newton matrix as the dense Jᵀ·H_L·J from per-example Jacobians
//! (each output's gradient by its own backward pass) and softmax
//! cross-entropy's Hessian in the logits, diag(p) − ppᵀ, on a network with
//! a convolution and batch norm, and as the Hessian itself for a linear
//! model with squared error; the empirical Fisher as (1/N)·Σ gₙgₙᵀ from
//! each example's gradient alone; the Monte-Carlo Fisher, on average over
//! its drawn labels, as the Gauss–Newton matrix (cross-entropy's Fisher).

use gradus::autodiff::{GradOptions, Tape, Var, grad};
use gradus::data::{Features, InMemory, Targets};
use gradus::hessian::{Curvature, LossHessian};
use gradus::prelude::*;
use gradus::tensor::Tensor;
use std::sync::Arc;

fn column(op: &LossHessian<'_, f64>, i: usize) -> Vec<f64> {
    let mut e = vec![0.0; op.dimension()];
    e[i] = 1.0;
    op.apply(&e).unwrap()
}

#[test]
fn the_gauss_newton_matrix_is_the_hessian_of_a_linear_model_with_squared_error() {
    let model = gradus::models::ModelSpec::parse("seq(linear(3, 2))").unwrap().build::<f64>(1);
    let x: Vec<f64> = (0..12).map(|i| ((i * 37 % 11) as f64 - 5.0) / 4.0).collect();
    let y: Vec<f64> = (0..8).map(|i| (i as f64).cos()).collect();
    let data = InMemory::new(Features::F64(x), vec![3], Targets::Values { data: y, width: 2 }).unwrap();
    let loader = DataLoader::new(Arc::new(data), 3);
    let mse = gradus::loss::Regression::Mse(gradus::loss::Reduction::Mean);
    let h = LossHessian::new(&model, &mse, &loader).unwrap();
    let g = LossHessian::ggn(&model, &mse, &loader).unwrap();
    assert_eq!((h.kind(), g.kind()), (Curvature::Hessian, Curvature::Ggn));
    for i in 0..h.dimension() {
        for (a, b) in column(&g, i).iter().zip(column(&h, i)) {
            assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0), "column {i}: GGN {a}, Hessian {b}");
        }
    }
}

/// The small network with a convolution and batch norm (its running
/// statistics moved off their start, so evaluation mode's affine map is
/// not the identity), five 4×4 images and their labels.
fn conv_net() -> (gradus::nn::Sequential<f64>, Vec<f64>, Vec<usize>) {
    let spec = "seq(conv2d(1, 2, 3), batchnorm2d(2), tanh, flatten, linear(8, 3))";
    let model = gradus::models::ModelSpec::parse(spec).unwrap().build::<f64>(2);
    // Batch norm's running statistics away from their start, so that
    // evaluation mode's affine map is not the identity.
    for (name, b) in model.named_buffers() {
        if name.ends_with("running_mean") {
            b.set(Tensor::from_vec(vec![0.3, -0.2], &[2]).unwrap());
        } else if name.ends_with("running_var") {
            b.set(Tensor::from_vec(vec![1.7, 0.6], &[2]).unwrap());
        }
    }
    let x: Vec<f64> = (0..5 * 16).map(|i| (((i * 7919) % 97) as f64 / 48.0) - 1.0).collect();
    (model, x, (0..5).map(|i| i % 3).collect())
}

fn loader_of(x: &[f64], labels: &[usize]) -> DataLoader {
    let data = InMemory::new(Features::F64(x.to_vec()), vec![1, 4, 4], Targets::Classes(labels.to_vec())).unwrap();
    DataLoader::new(Arc::new(data), labels.len())
}

#[test]
fn the_gauss_newton_products_equal_the_dense_matrix_from_per_example_jacobians() {
    let (model, x, labels) = conv_net();
    let n = labels.len();
    let data = InMemory::new(Features::F64(x.clone()), vec![1, 4, 4], Targets::Classes(labels)).unwrap();
    let loader = DataLoader::new(Arc::new(data), n);
    let loss = CrossEntropy::default();
    let op = LossHessian::ggn(&model, &loss, &loader).unwrap();
    let dim = op.dimension();

    // The logits and every row of the Jacobian, one backward pass each.
    model.eval();
    let tape = Tape::new();
    let params = model.named_parameters();
    let leaves: Vec<Var<f64>> = params.iter().map(|(_, p)| p.var(&tape)).collect();
    let refs: Vec<&Var<f64>> = leaves.iter().collect();
    let logits = model.forward(&tape, &Var::constant(Tensor::from_vec(x, &[n, 1, 4, 4]).unwrap()));
    let z = logits.value().to_vec();
    let c = 3;
    let mut jacobian = vec![vec![0.0; dim]; n * c];
    for (r, row) in jacobian.iter_mut().enumerate() {
        let mut seed = vec![0.0; n * c];
        seed[r] = 1.0;
        let seed = Tensor::from_vec(seed, &[n, c]).unwrap();
        let opts = GradOptions { retain_graph: true, allow_unused: true, ..Default::default() };
        let mut at = 0;
        for (g, leaf) in grad(&[&logits], Some(&[seed]), &refs, opts).unwrap().into_iter().zip(&leaves) {
            let k = leaf.value().numel();
            if let Some(g) = g {
                row[at..at + k].copy_from_slice(&g.value().contiguous().to_vec());
            }
            at += k;
        }
    }
    // G = Σₙ Jₙᵀ·(diag(pₙ) − pₙpₙᵀ)/N·Jₙ.
    let mut dense = vec![vec![0.0; dim]; dim];
    for e in 0..n {
        let row = &z[e * c..(e + 1) * c];
        let top = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let exp: Vec<f64> = row.iter().map(|v| (v - top).exp()).collect();
        let p: Vec<f64> = exp.iter().map(|v| v / exp.iter().sum::<f64>()).collect();
        for a in 0..c {
            for b in 0..c {
                let h = (if a == b { p[a] } else { 0.0 } - p[a] * p[b]) / n as f64;
                let (ja, jb) = (&jacobian[e * c + a], &jacobian[e * c + b]);
                for i in 0..dim {
                    for j in 0..dim {
                        dense[i][j] += ja[i] * h * jb[j];
                    }
                }
            }
        }
    }
    let scale = dense.iter().flatten().fold(0.0f64, |m, v| m.max(v.abs()));
    for (i, want) in dense.iter().enumerate() {
        for (j, (a, b)) in column(&op, i).iter().zip(want).enumerate() {
            assert!((a - b).abs() <= 1e-10 * scale, "G[{j}][{i}]: operator {a}, dense {b}");
        }
    }
    assert_eq!(dim, 2 * 9 + 2 + 2 + 2 + 8 * 3 + 3);
}

#[test]
fn the_empirical_fisher_is_the_second_moment_of_the_per_example_gradients() {
    let (model, x, labels) = conv_net();
    let loss = CrossEntropy::default();
    let op = LossHessian::of_kind(&model, &loss, &loader_of(&x, &labels), Curvature::EmpiricalFisher).unwrap();
    let dim = op.dimension();
    // Each example's gradient alone: its own one-example batch.
    let n = labels.len();
    let mut dense = vec![vec![0.0; dim]; dim];
    for e in 0..n {
        let one = LossHessian::new(&model, &loss, &loader_of(&x[e * 16..(e + 1) * 16], &labels[e..=e])).unwrap();
        let g = one.gradient();
        for i in 0..dim {
            for j in 0..dim {
                dense[i][j] += g[i] * g[j] / n as f64;
            }
        }
    }
    let scale = dense.iter().flatten().fold(0.0f64, |m, v| m.max(v.abs()));
    for (i, want) in dense.iter().enumerate() {
        for (j, (a, b)) in column(&op, i).iter().zip(want).enumerate() {
            assert!((a - b).abs() <= 1e-10 * scale, "F[{j}][{i}]: operator {a}, dense {b}");
        }
    }
}

#[test]
fn the_monte_carlo_fisher_averages_to_the_gauss_newton_matrix() {
    let (model, x, labels) = conv_net();
    let (loss, loader) = (CrossEntropy::default(), loader_of(&x, &labels));
    let ggn = LossHessian::ggn(&model, &loss, &loader).unwrap();
    let v: Vec<f64> = (0..ggn.dimension()).map(|i| ((i * 13 % 7) as f64 - 3.0) / 3.0).collect();
    let want = ggn.apply(&v).unwrap();
    let draws = 3000;
    let mut mean = vec![0.0; v.len()];
    for seed in 0..draws {
        let f = LossHessian::fisher(&model, &loss, &loader, seed).unwrap();
        mean.iter_mut().zip(f.apply(&v).unwrap()).for_each(|(m, x)| *m += x / draws as f64);
    }
    let scale = want.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    for (i, (a, b)) in mean.iter().zip(&want).enumerate() {
        assert!((a - b).abs() <= 0.05 * scale, "[{i}]: mean of Monte-Carlo Fisher products {a}, Gauss–Newton {b}");
    }
}
