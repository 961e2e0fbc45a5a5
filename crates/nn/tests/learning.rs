//! Small networks learn XOR and the two-spirals set to 100% training
//! accuracy. (The optimiser is a dozen lines of Adam written here: gradus-nn
//! must not depend on gradus-optim.)

use gradus_autodiff::{Tape, Var};
use gradus_loss::{Reduction, cross_entropy};
use gradus_nn::{Activation, Mlp, Module, Sequential};
use gradus_tensor::Tensor;
use rand::SeedableRng;
use rand::rngs::StdRng;

/// Full-batch Adam (β = 0.9, 0.999) on softmax cross-entropy; returns the
/// training accuracy.
fn fit(model: &Sequential<f64>, x: &Tensor<f64>, y: &Tensor<usize>, steps: usize, lr: f64) -> f64 {
    let params = model.named_parameters();
    let mut m: Vec<Vec<f64>> = params.iter().map(|(_, p)| vec![0.0; p.numel()]).collect();
    let mut v = m.clone();
    let input = Var::constant(x.clone());
    for t in 1..=steps {
        let tape = Tape::new();
        let loss = cross_entropy(&model.forward(&tape, &input), y, Reduction::Mean);
        let grads = loss.backward().unwrap();
        for (i, (_, p)) in params.iter().enumerate() {
            let g = p.grad(&tape, &grads).unwrap().to_vec();
            let (b1, b2) = (1.0 - 0.9f64.powi(t as i32), 1.0 - 0.999f64.powi(t as i32));
            p.update(|w| {
                for k in 0..w.len() {
                    m[i][k] = 0.9 * m[i][k] + 0.1 * g[k];
                    v[i][k] = 0.999 * v[i][k] + 0.001 * g[k] * g[k];
                    w[k] -= lr * (m[i][k] / b1) / ((v[i][k] / b2).sqrt() + 1e-8);
                }
            });
        }
    }
    let predicted = model.forward(&Tape::new(), &input).into_value().argmax(-1, false);
    let correct = predicted.to_vec().iter().zip(y.to_vec()).filter(|(p, t)| **p == *t).count();
    correct as f64 / y.numel() as f64
}

#[test]
fn an_mlp_learns_xor() {
    let x = Tensor::from_vec(vec![0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0], &[4, 2]).unwrap();
    let y = Tensor::from_vec(vec![0usize, 1, 1, 0], &[4]).unwrap();
    let model = Mlp::new(&[2, 8, 2]).activation(Activation::Tanh).build(&mut StdRng::seed_from_u64(0));
    assert_eq!(fit(&model, &x, &y, 300, 0.05), 1.0);
}

/// Lang & Witbrock's two interleaved spirals, `n` points each.
fn two_spirals(n: usize) -> (Tensor<f64>, Tensor<usize>) {
    let mut x = Vec::with_capacity(4 * n);
    let mut y = Vec::with_capacity(2 * n);
    for i in 0..n {
        let angle = i as f64 * std::f64::consts::PI / 16.0;
        let radius = 6.5 * (104 - i) as f64 / 104.0;
        let (px, py) = (radius * angle.sin(), radius * angle.cos());
        x.extend([px / 6.5, py / 6.5, -px / 6.5, -py / 6.5]);
        y.extend([0, 1]);
    }
    (Tensor::from_vec(x, &[2 * n, 2]).unwrap(), Tensor::from_vec(y, &[2 * n]).unwrap())
}

#[test]
fn an_mlp_learns_the_two_spirals() {
    let (x, y) = two_spirals(97);
    let model = Mlp::new(&[2, 64, 64, 2]).activation(Activation::Tanh).build(&mut StdRng::seed_from_u64(1));
    let accuracy = fit(&model, &x, &y, 2000, 0.01);
    assert_eq!(accuracy, 1.0, "two spirals: training accuracy {accuracy}");
}
