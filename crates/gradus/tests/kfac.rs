//! K-FAC's factors against matrices built independently — the Gauss–Newton
//! block of one linear layer under squared error (where G ⊗ A is exact), a
//! convolution's input factor from its patches unfolded by hand, the
//! sampled output factor's mean against the exact one — and the trainer's
//! K-FAC step against the dense Gauss–Newton solve.

use gradus::autodiff::Var;
use gradus::data::{Features, InMemory, Targets};
use gradus::hessian::LossHessian;
use gradus::kronecker::{Expectation, kronecker_factors};
use gradus::models::ModelSpec;
use gradus::prelude::*;
use gradus::tensor::Tensor;
use std::sync::Arc;

fn values(n: usize, salt: usize) -> Vec<f64> {
    (0..n).map(|i| ((((i + salt) * 7919) % 101) as f64 / 50.0) - 1.0).collect()
}

/// One linear layer 3 → 2 under mean squared error, eight examples.
fn linear_problem() -> (gradus::nn::Sequential<f64>, Tensor<f64>, Tensor<f64>, DataLoader) {
    let model = ModelSpec::parse("seq(linear(3, 2))").unwrap().build::<f64>(4);
    let (x, y) = (values(24, 0), values(16, 5));
    let data = InMemory::new(Features::F64(x.clone()), vec![3], Targets::Values { data: y.clone(), width: 2 }).unwrap();
    let loader = DataLoader::new(Arc::new(data), 8);
    (model, Tensor::from_vec(x, &[8, 3]).unwrap(), Tensor::from_vec(y, &[8, 2]).unwrap(), loader)
}

fn mse() -> gradus::loss::Regression {
    gradus::loss::Regression::Mse(gradus::loss::Reduction::Mean)
}

/// The dense Gauss–Newton matrix, column by column.
fn dense(op: &LossHessian<'_, f64>) -> Vec<Vec<f64>> {
    (0..op.dimension())
        .map(|i| {
            let mut e = vec![0.0; op.dimension()];
            e[i] = 1.0;
            op.apply(&e).unwrap()
        })
        .collect()
}

#[test]
fn one_linear_layer_under_squared_error_has_the_exact_gauss_newton_blocks() {
    let (model, x, y, loader) = linear_problem();
    let f = kronecker_factors(&model, &mse(), &Var::constant(x), &BatchTargets::Values(y), Expectation::Exact).unwrap();
    assert_eq!(f.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), ["0.weight", "0.bias"]);
    let ggn = dense(&LossHessian::ggn(&model, &mse(), &loader).unwrap());
    let (a, g) = (f[0].a.to_vec(), f[0].g.to_vec());
    // The weight [2, 3] row-major: index o·3 + i; its block is G ⊗ A.
    for (o, i, p, j) in
        (0..2).flat_map(|o| (0..3).flat_map(move |i| (0..2).flat_map(move |p| (0..3).map(move |j| (o, i, p, j)))))
    {
        let (want, got) = (ggn[o * 3 + i][p * 3 + j], g[o * 2 + p] * a[i * 3 + j]);
        assert!((want - got).abs() <= 1e-12 * want.abs().max(1.0), "W[{o},{i}]·W[{p},{j}]: {got} vs {want}");
    }
    let (ab, gb) = (f[1].a.to_vec(), f[1].g.to_vec());
    assert_eq!(ab, vec![1.0]);
    for (o, p) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
        let want = ggn[6 + o][6 + p];
        assert!((want - gb[o * 2 + p]).abs() <= 1e-12 * want.abs().max(1.0), "b[{o}]·b[{p}]");
    }
}

#[test]
fn a_convolution_input_factor_is_the_mean_outer_product_of_its_patches() {
    let model =
        ModelSpec::parse("seq(conv2d(2, 3, 3, stride=2, padding=1), flatten, linear(12, 4))").unwrap().build::<f64>(2);
    let (n, h) = (3, 4);
    let x = Tensor::from_vec(values(n * 2 * h * h, 1), &[n, 2, h, h]).unwrap();
    let y = BatchTargets::Classes(Tensor::from_vec(vec![0usize, 3, 1], &[n]).unwrap());
    let f =
        kronecker_factors(&model, &CrossEntropy::default(), &Var::constant(x.clone()), &y, Expectation::Exact).unwrap();
    let conv = &f[0];
    assert_eq!(
        (conv.name.as_str(), conv.a.shape(), conv.g.shape()),
        ("0.weight", &[18usize, 18][..], &[3usize, 3][..])
    );
    // Patches unfolded by hand: channel, row, column of the 3×3 window at
    // each of the 2×2 output positions, zero in the padding.
    let xv = x.to_vec();
    let mut a = vec![0.0; 18 * 18];
    for img in 0..n {
        for (oy, ox) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
            let mut patch = Vec::new();
            for c in 0..2 {
                for i in 0..3 {
                    for j in 0..3 {
                        let (iy, ix) = ((oy * 2 + i) as isize - 1, (ox * 2 + j) as isize - 1);
                        let inside = (0..h as isize).contains(&iy) && (0..h as isize).contains(&ix);
                        patch.push(if inside { xv[((img * 2 + c) * h + iy as usize) * h + ix as usize] } else { 0.0 });
                    }
                }
            }
            for r in 0..18 {
                for s in 0..18 {
                    a[r * 18 + s] += patch[r] * patch[s] / n as f64;
                }
            }
        }
    }
    for (k, (got, want)) in conv.a.to_vec().iter().zip(&a).enumerate() {
        assert!((got - want).abs() < 1e-12, "A[{k}]: {got} vs {want}");
    }
    // The bias's input factor is the positions per example.
    assert_eq!(f[1].a.to_vec(), vec![4.0]);
}

#[test]
fn the_sampled_output_factor_averages_to_the_exact_one() {
    let model = ModelSpec::parse("seq(linear(3, 5), tanh, linear(5, 4))").unwrap().build::<f64>(6);
    let x = Var::constant(Tensor::from_vec(values(18, 2), &[6, 3]).unwrap());
    let y = BatchTargets::Classes(Tensor::from_vec(vec![0usize, 1, 2, 3, 0, 1], &[6]).unwrap());
    let loss = CrossEntropy::default();
    let exact = kronecker_factors(&model, &loss, &x, &y, Expectation::Exact).unwrap();
    let draws = 4000;
    let mut mean = vec![0.0; exact[0].g.numel()];
    for seed in 0..draws {
        let s = kronecker_factors(&model, &loss, &x, &y, Expectation::Sampled { seed }).unwrap();
        mean.iter_mut().zip(s[0].g.to_vec()).for_each(|(m, v)| *m += v / draws as f64);
        assert_eq!(s[0].a.to_vec(), exact[0].a.to_vec(), "A does not depend on the labels");
    }
    let want = exact[0].g.to_vec();
    let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for (k, (m, w)) in mean.iter().zip(&want).enumerate() {
        assert!((m - w).abs() <= 0.05 * scale, "G[{k}]: mean of draws {m}, exact {w}");
    }
    // Regression targets cannot be drawn.
    let values_y = BatchTargets::Values(Tensor::zeros(&[6, 4]));
    let err = kronecker_factors(&model, &mse(), &x, &values_y, Expectation::Sampled { seed: 0 }).unwrap_err();
    assert!(err.to_string().contains("only for class targets"), "{err}");
}

#[test]
fn the_trainer_s_kfac_step_solves_the_gauss_newton_system_of_one_linear_layer() {
    let (model, x, y, loader) = linear_problem();
    let spec = "kfac(lr=1.0, damping=1e-20, momentum=0.0, update_freq=1, kl_clip=0)";
    let mut trainer = Trainer::new(Optimizer::boxed(gradus::optim::parse::<f64>(spec).unwrap()));
    let ggn = dense(&LossHessian::ggn(&model, &mse(), &loader).unwrap());
    let before: Vec<f64> = model.named_parameters().iter().flat_map(|(_, p)| p.value().to_vec()).collect();
    // The gradient at the start, by the loss's own backward pass.
    let tape = gradus::autodiff::Tape::new();
    let out = mse().loss(&model.forward(&tape, &Var::constant(x.clone())), &BatchTargets::Values(y.clone())).unwrap();
    let grads = out.backward().unwrap();
    let w = tape.keyed(model.named_parameters()[0].1.id().0).unwrap();
    let gw = grads.get(&w).unwrap().to_vec();
    trainer.step(&model, &mse(), &Var::constant(x), &BatchTargets::Values(y), None).unwrap();
    let after: Vec<f64> = model.named_parameters().iter().flat_map(|(_, p)| p.value().to_vec()).collect();
    // The weight's step solves its Gauss–Newton block: GGN_WW · Δ = −∇W.
    let step: Vec<f64> = (0..6).map(|i| after[i] - before[i]).collect();
    for (i, g) in gw.iter().enumerate() {
        let lhs: f64 = (0..6).map(|j| ggn[j][i] * step[j]).sum();
        assert!((lhs + g).abs() <= 1e-8 * g.abs().max(1e-3), "row {i}: GGN·Δ = {lhs}, −∇ = {}", -g);
    }
}
