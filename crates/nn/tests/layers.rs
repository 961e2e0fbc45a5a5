//! Layers against hand-computed values: dense backprop formulas, BatchNorm
//! in training and evaluation, Dropout's expectation and reproducibility,
//! PReLU/Swish parameters, freezing, names, activation diagnostics.

use gradus_autodiff::{Tape, Var};
use gradus_nn::{
    ActivationStats, BatchNorm1d, BatchNorm2d, Dropout, Linear, Module, PRelu, Relu, Sequential, Sigmoid, Swish, Tanh,
    Watch,
};
use gradus_tensor::{Tensor, assert_close};
use rand::SeedableRng;
use rand::rngs::StdRng;

fn t(v: &[f64], shape: &[usize]) -> Tensor<f64> {
    Tensor::from_slice(v, shape).unwrap()
}

#[test]
fn dense_backprop_matches_the_formulas() {
    // a1 = σ(W1 x + b1), a2 = σ(W2 a1 + b2), y = W3 a2 + b3, L = ½‖y‖².
    let mut rng = StdRng::seed_from_u64(3);
    let net = Sequential::<f64>::new()
        .append(Linear::new(3, 4, &mut rng))
        .append(Sigmoid)
        .append(Linear::new(4, 3, &mut rng))
        .append(Sigmoid)
        .append(Linear::new(3, 2, &mut rng));
    let x = t(&[0.3, -1.2, 0.8], &[1, 3]);
    let tape = Tape::new();
    let y = net.forward(&tape, &Var::constant(x.clone()));
    let loss = y.square().sum(.., false).mul_scalar(0.5);
    let grads = loss.backward().unwrap();
    let got = net.gradients(&tape, &grads);

    // By hand, column vectors: δ3 = y; δ_l = (W_{l+1}ᵀ δ_{l+1}) ⊙ σ'(z_l); ∂L/∂W_l = δ_l a_{l-1}ᵀ.
    let params: Vec<Tensor<f64>> = net.named_parameters().iter().map(|(_, p)| p.value()).collect();
    let (w1, b1, w2, b2, w3, b3) = (&params[0], &params[1], &params[2], &params[3], &params[4], &params[5]);
    let col = |v: &Tensor<f64>| v.reshape(&[-1, 1]);
    let a0 = col(&x);
    let z1 = &w1.matmul(&a0) + &col(b1);
    let a1 = z1.sigmoid();
    let z2 = &w2.matmul(&a1) + &col(b2);
    let a2 = z2.sigmoid();
    let d3 = &w3.matmul(&a2) + &col(b3);
    let d2 = &w3.t().matmul(&d3) * &(&a2 * &a2.map(|s| 1.0 - s));
    let d1 = &w2.t().matmul(&d2) * &(&a1 * &a1.map(|s| 1.0 - s));
    let expected = [
        d1.matmul(&a0.t()),
        d1.reshape(&[-1]),
        d2.matmul(&a1.t()),
        d2.reshape(&[-1]),
        d3.matmul(&a2.t()),
        d3.reshape(&[-1]),
    ];
    assert_eq!(got.len(), 6);
    for ((name, _, g), e) in got.iter().zip(&expected) {
        assert_eq!(g.shape(), e.shape(), "{name}");
        assert_close!(g, e, 1e-14, 1e-12);
    }
}

#[test]
fn batchnorm_in_training_and_evaluation() {
    let bn = BatchNorm1d::<f64>::new(2);
    let x = t(&[1.0, 10.0, 2.0, 20.0, 6.0, 60.0], &[3, 2]);
    let y = bn.forward(&Tape::new(), &Var::constant(x.clone()));
    // Channel 0: mean 3, biased var 14/3; channel 1 is ten times channel 0.
    let (m, v) = (3.0, 14.0 / 3.0);
    let norm = |a: f64, m: f64, v: f64| (a - m) / (v + 1e-5f64).sqrt();
    let expected = [norm(1.0, m, v), norm(10.0, 10.0 * m, 100.0 * v), norm(2.0, m, v), norm(20.0, 10.0 * m, 100.0 * v)];
    assert_close!(y.value().narrow(0, 0, 2).reshape(&[-1]), t(&expected, &[4]), 1e-12, 0.0);
    // Running statistics: momentum 0.1 from (0, 1), with the unbiased variance 7.
    assert_close!(bn.running_mean().unwrap(), t(&[0.3, 3.0], &[2]), 1e-12, 0.0);
    assert_close!(bn.running_var().unwrap(), t(&[0.9 + 0.7, 0.9 + 70.0], &[2]), 1e-12, 0.0);
    // Evaluation uses them.
    bn.eval();
    let z = bn.forward(&Tape::new(), &Var::constant(t(&[1.0, 10.0], &[1, 2])));
    let expected = [(1.0 - 0.3) / (1.6 + 1e-5f64).sqrt(), (10.0 - 3.0) / (70.9 + 1e-5f64).sqrt()];
    assert_close!(z.value(), t(&expected, &[1, 2]), 1e-12, 0.0);
    let names: Vec<String> = bn.named_buffers().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["running_mean", "running_var", "num_batches_tracked"]);
}

#[test]
fn batchnorm_cumulative_average_and_three_dims() {
    let bn = BatchNorm1d::<f64>::with_options(1, 1e-5, None, false, true);
    for batch in [t(&[0.0, 2.0], &[2, 1]), t(&[4.0, 6.0], &[2, 1])] {
        let _ = bn.forward(&Tape::new(), &Var::constant(batch));
    }
    // momentum None: the plain average of the batch means (1 and 5) and unbiased variances (2 and 2).
    assert_close!(bn.running_mean().unwrap(), t(&[3.0], &[1]), 1e-12, 0.0);
    assert_close!(bn.running_var().unwrap(), t(&[2.0], &[1]), 1e-12, 0.0);
    // [N, C, L]: statistics over batch and length.
    let bn = BatchNorm1d::<f64>::new(2);
    let x = Tensor::<f64>::arange(0.0, 12.0, 1.0).unwrap().reshape(&[2, 2, 3]);
    let y = bn.forward(&Tape::new(), &Var::constant(x));
    let per_channel_mean = y.value().mean([0, 2], false);
    assert_close!(per_channel_mean, Tensor::<f64>::zeros(&[2]), 1e-12, 0.0);
}

#[test]
#[should_panic(expected = "BatchNorm1d(3) in training needs more than one value per channel")]
fn batchnorm_needs_two_samples_to_train() {
    let _ = BatchNorm1d::<f64>::new(3).forward(&Tape::new(), &Var::constant(Tensor::ones(&[1, 3])));
}

#[test]
fn batchnorm2d_over_one_value_per_channel_is_refused_by_its_shape_check_in_training_only() {
    let bn = BatchNorm2d::<f64>::new(4);
    let err = bn.output_shape(&[1, 4, 1, 1]).unwrap().unwrap_err();
    assert!(err.starts_with("BatchNorm2d(4) in training needs more than one value per channel"), "{err}");
    assert_eq!(bn.output_shape(&[2, 4, 1, 1]), Some(Ok(vec![2, 4, 1, 1])));
    assert_eq!(bn.output_shape(&[1, 4, 2, 1]), Some(Ok(vec![1, 4, 2, 1])));
    bn.set_training(false);
    assert_eq!(bn.output_shape(&[1, 4, 1, 1]), Some(Ok(vec![1, 4, 1, 1])));
    let y = bn.forward(&Tape::new(), &Var::constant(Tensor::ones(&[1, 4, 1, 1])));
    assert_eq!(y.shape(), [1, 4, 1, 1]);
}

#[test]
fn dropout_keeps_the_expectation_and_replays_from_its_seed() {
    let x = Var::constant(Tensor::<f64>::ones(&[200_000]));
    let drop = Dropout::seeded(0.3, 42);
    let y = drop.forward(&Tape::new(), &x).into_value();
    let kept = y.to_vec().iter().filter(|&&v| v != 0.0).count() as f64 / 200_000.0;
    assert!((kept - 0.7).abs() < 0.005, "kept fraction {kept}");
    assert!((y.mean(.., false).item() - 1.0).abs() < 0.01);
    assert!(y.to_vec().iter().all(|&v| v == 0.0 || (v - 1.0 / 0.7).abs() < 1e-15));
    // Same seed, same masks; the next call draws a new mask.
    let again = Dropout::seeded(0.3, 42);
    assert_eq!(again.forward(&Tape::new(), &x).value().to_vec(), y.to_vec());
    assert_ne!(again.forward(&Tape::new(), &x).value().to_vec(), y.to_vec());
    // Resuming from the state replays the stream.
    let resumed = Dropout::seeded(0.3, 0);
    resumed.set_state(drop.state());
    assert_eq!(resumed.forward(&Tape::new(), &x).value().to_vec(), drop.forward(&Tape::new(), &x).value().to_vec());
    // p = 1 drops everything; gradients flow through the mask.
    let tape = Tape::new();
    let leaf = tape.leaf(Tensor::<f64>::ones(&[4]));
    let all = Dropout::seeded(1.0, 0).forward(&tape, &leaf);
    assert_eq!(all.value().to_vec(), vec![0.0; 4]);
}

#[test]
fn learnable_activation_parameters_get_gradients() {
    let prelu = PRelu::<f64>::new(2, 0.25);
    let tape = Tape::new();
    let x = Var::constant(t(&[-1.0, -2.0, 3.0, -4.0], &[2, 2]));
    let y = prelu.forward(&tape, &x);
    assert_eq!(y.value().to_vec(), vec![-0.25, -0.5, 3.0, -1.0]);
    let g = y.sum(.., false).backward().unwrap();
    // ∂/∂α_c = Σ min(0, x) over channel c.
    assert_eq!(prelu.alpha().grad(&tape, &g).unwrap().to_vec(), vec![-1.0, -6.0]);

    let swish = Swish::<f64>::new(1.0, true);
    let tape = Tape::new();
    let y = swish.forward(&tape, &Var::constant(t(&[2.0], &[1])));
    let g = y.sum(.., false).backward().unwrap();
    let s = 1.0 / (1.0 + (-2.0f64).exp());
    assert_close!(swish.beta().grad(&tape, &g).unwrap(), Tensor::scalar(4.0 * s * (1.0 - s)), 1e-15, 0.0);
    let fixed = Swish::<f64>::new(1.0, false);
    assert_eq!(Module::<f64>::num_trainable_parameters(&fixed), 0);
}

#[test]
fn frozen_parameters_receive_no_gradient() {
    let mut rng = StdRng::seed_from_u64(0);
    let layer = Linear::<f64>::new(3, 2, &mut rng);
    layer.weight().freeze(true);
    let tape = Tape::new();
    let y = layer.forward(&tape, &Var::constant(Tensor::ones(&[4, 3])));
    let grads = y.sum(.., false).backward().unwrap();
    let names: Vec<String> = layer.gradients(&tape, &grads).into_iter().map(|(n, _, _)| n).collect();
    assert_eq!(names, ["bias"]);
    assert_eq!(layer.num_trainable_parameters(), 2);
    assert_eq!(layer.num_parameters(), 8);
}

#[test]
fn names_nest_and_training_mode_reaches_every_layer() {
    let mut rng = StdRng::seed_from_u64(0);
    let inner = Sequential::<f64>::new().append(Linear::new(2, 3, &mut rng)).append(BatchNorm1d::new(3));
    let outer = Sequential::new().append(inner).append(Dropout::new(0.5, &mut rng)).append(Linear::new(3, 1, &mut rng));
    let names: Vec<String> = outer.named_parameters().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["0.0.weight", "0.0.bias", "0.1.weight", "0.1.bias", "2.weight", "2.bias"]);
    let buffers: Vec<String> = outer.named_buffers().into_iter().map(|(n, _)| n).collect();
    assert_eq!(buffers, ["0.1.running_mean", "0.1.running_var", "0.1.num_batches_tracked"]);
    // In eval, dropout is the identity and batch norm uses running statistics: outputs repeat.
    outer.eval();
    let x = Var::constant(Tensor::from_vec(vec![0.5, -0.5], &[1, 2]).unwrap());
    let a = outer.forward(&Tape::new(), &x).into_value().to_vec();
    let b = outer.forward(&Tape::new(), &x).into_value().to_vec();
    assert_eq!(a, b);
}

/// Units whose bias is far below any weighted input never fire: exactly
/// those count as dead. A large weight scale pushes tanh into its tails.
/// The observed forward pass computes the same output as the plain one.
#[test]
fn activation_stats_find_dead_and_saturated_units() {
    let mut rng = StdRng::seed_from_u64(0);
    let hidden = Linear::<f64>::new(3, 8, &mut rng);
    let mut bias = vec![0.0; 8];
    bias[..3].fill(-1e3); // units 0, 1, 2 are dead
    hidden.bias().unwrap().set(t(&bias, &[8]));
    let squash = Linear::<f64>::new(8, 4, &mut rng);
    squash.weight().set(&squash.weight().value() * 1e3);
    let inner = Sequential::new().append(hidden).append(Relu);
    let model = Sequential::new().append(inner).append(squash).append(Tanh);
    let x = Var::constant(Tensor::from_vec((0..30).map(|i| (i as f64 * 0.37).sin()).collect(), &[10, 3]).unwrap());
    let mut stats = ActivationStats::new();
    let observed = stats.forward(&model, &Tape::new(), &x).into_value().to_vec();
    assert_eq!(observed, model.forward(&Tape::new(), &x).into_value().to_vec());
    let layers = stats.layers();
    assert_eq!(layers.iter().map(|l| l.name()).collect::<Vec<_>>(), ["0.1", "2"]);
    assert_eq!(layers[0].watch(), Watch::Dead);
    assert_eq!(layers[0].units(), 8);
    let relu = model.layers()[0].forward(&Tape::new(), &x).into_value().to_vec();
    let dead = (0..8).filter(|u| relu.chunks(8).all(|row| row[*u] == 0.0)).count();
    assert!(dead >= 3, "the three forced units are dead, found {dead}");
    assert_eq!(layers[0].fraction(), dead as f64 / 8.0);
    let tanh = model.forward(&Tape::new(), &x).into_value().to_vec();
    let saturated = tanh.iter().filter(|y| y.abs() > 0.99).count() as f64 / tanh.len() as f64;
    assert_eq!(layers[1].fraction(), saturated);
    assert!(saturated > 0.5, "weights ×1000 saturate most outputs: {saturated}");
}

#[test]
#[should_panic(expected = "does not end in 3 features")]
fn linear_names_a_wrong_input_width() {
    let layer = Linear::<f64>::new(3, 2, &mut StdRng::seed_from_u64(0));
    let _ = layer.forward(&Tape::new(), &Var::constant(Tensor::ones(&[4, 5])));
}

/// BatchNorm1d against PyTorch (tests/data/pytorch.txt, made by
/// scripts/pytorch_reference.py): training output and gradients, running
/// statistics after two batches, evaluation output.
#[test]
fn batchnorm_matches_pytorch() {
    let mut reference = std::collections::HashMap::new();
    for line in include_str!("data/pytorch.txt").lines().filter(|l| !l.starts_with('#')) {
        let mut parts = line.splitn(4, ' ');
        let (_, key, shape, values) =
            (parts.next(), parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
        let shape: Vec<usize> = shape.split(',').map(|s| s.parse().unwrap()).collect();
        let values: Vec<f64> = values.split(' ').map(|s| s.parse().unwrap()).collect();
        reference.insert(key.to_string(), Tensor::from_vec(values, &shape).unwrap());
    }
    let r = |k: &str| reference[k].clone();
    let bn = BatchNorm1d::<f64>::new(3);
    let named = bn.named_parameters();
    named[0].1.set(t(&[1.5, 0.5, -1.0], &[3]));
    named[1].1.set(t(&[0.1, -0.2, 0.3], &[3]));
    let tape = Tape::new();
    let x = tape.leaf(r("input"));
    let out = bn.forward(&tape, &x);
    assert_close!(out.value(), r("train_out"), 1e-14, 1e-14);
    let weights = Tensor::<f64>::arange(0.0, 15.0, 1.0).unwrap().reshape(&[5, 3]);
    let grads = (&out * &Var::constant(weights)).sum(.., false).backward().unwrap();
    assert_close!(grads.get(&x).unwrap(), r("grad_input"), 1e-12, 1e-12);
    assert_close!(named[0].1.grad(&tape, &grads).unwrap(), r("grad_weight"), 1e-12, 1e-12);
    assert_close!(named[1].1.grad(&tape, &grads).unwrap(), r("grad_bias"), 1e-12, 1e-12);
    let _ = bn.forward(&Tape::new(), &Var::constant(r("input2")));
    assert_close!(bn.running_mean().unwrap(), r("running_mean"), 1e-15, 1e-15);
    assert_close!(bn.running_var().unwrap(), r("running_var"), 1e-15, 1e-15);
    bn.eval();
    assert_close!(bn.forward(&Tape::new(), &Var::constant(r("input3"))).value(), r("eval_out"), 1e-14, 1e-14);
}
