//! Second order through a convolutional network: the Hessian-vector
//! product of a small CNN's loss with respect to all its parameters (two
//! backward passes through conv, max pool, batch norm, average pool and
//! linear) agrees with central differences of its gradient, so Newton-type
//! methods and curvature tools work on conv nets; the same through residual
//! blocks with batch norm, group norm and layer norm.

use gradus_autodiff::{ConvOptions, MaxPoolOptions, Padding, Tape, Var, hvp};
use gradus_loss::{Reduction, cross_entropy};
use gradus_nn::{
    AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Flatten, GroupNorm, LayerNorm, Linear, MaxPool2d, Module, Residual,
    Sequential, Tanh,
};
use gradus_tensor::{Tensor, testing::close};
use rand::SeedableRng;
use rand::rngs::StdRng;

fn model() -> Sequential<f64> {
    let mut rng = StdRng::seed_from_u64(3);
    let same = ConvOptions::default().padding(Padding::Same);
    Sequential::new()
        .append(Conv2d::new(1, 3, [3, 3], ConvOptions::default(), true, &mut rng).unwrap())
        .append(Tanh)
        .append(MaxPool2d(MaxPoolOptions::new([2, 2])))
        .append(Conv2d::new(3, 4, [3, 3], same.groups(1), false, &mut rng).unwrap())
        .append(BatchNorm2d::new(4))
        .append(Tanh)
        .append(AdaptiveAvgPool2d([2, 2]))
        .append(Flatten::default())
        .append(Linear::new(16, 3, &mut rng))
}

/// A stem, a projection block with batch norm, an identity block with
/// group norm, layer norm over the plane, and a linear head.
fn residual_model() -> Sequential<f64> {
    let mut rng = StdRng::seed_from_u64(5);
    let same = ConvOptions::default().padding(Padding::Explicit([1, 1]));
    let conv = |i, o, opts, rng: &mut StdRng| Conv2d::new(i, o, [3, 3], opts, true, rng).unwrap();
    let down = ConvOptions::default().stride([2, 2]).padding(Padding::Explicit([1, 1]));
    Sequential::new()
        .append(conv(1, 2, same, &mut rng))
        .append(Tanh)
        .append(Residual::with_shortcut(
            Sequential::new().append(conv(2, 4, down, &mut rng)).append(BatchNorm2d::new(4)).append(Tanh),
            Sequential::new()
                .append(Conv2d::new(2, 4, [1, 1], ConvOptions::default().stride([2, 2]), false, &mut rng).unwrap())
                .append(BatchNorm2d::new(4)),
        ))
        .append(Residual::new(Sequential::new().append(conv(4, 4, same, &mut rng)).append(GroupNorm::new(2, 4))))
        .append(Tanh)
        .append(LayerNorm::new(&[3, 3]))
        .append(Flatten::default())
        .append(Linear::new(36, 3, &mut rng))
}

#[test]
fn hessian_vector_products_match_differences_of_the_gradient() {
    products_match_differences(&model(), 9);
}

#[test]
fn through_residual_blocks_and_norms_too() {
    let net = residual_model();
    assert!(net.named_parameters().iter().any(|(n, _)| n == "2.shortcut.1.weight"));
    products_match_differences(&net, 6);
}

fn products_match_differences(net: &Sequential<f64>, side: usize) {
    let params: Vec<(Vec<usize>, usize)> = net.named_parameters().iter().map(|(_, p)| (p.shape(), p.numel())).collect();
    let total: usize = params.iter().map(|(_, n)| n).sum();
    let mut rng = StdRng::seed_from_u64(9);
    let x = Tensor::<f64>::uniform(&[4, 1, side, side], -1.0, 1.0, &mut rng);
    let labels = Tensor::from_vec(vec![0usize, 2, 1, 2], &[4]).unwrap();
    let theta =
        Tensor::from_vec(net.named_parameters().iter().flat_map(|(_, p)| p.value().to_vec()).collect(), &[total])
            .unwrap();
    // The loss as a function of all parameters in one vector.
    let loss = |flat: &Var<f64>| {
        let tape = flat.tape().unwrap_or_default();
        let mut at = 0;
        for ((_, p), (shape, n)) in net.named_parameters().iter().zip(&params) {
            let dims: Vec<isize> = shape.iter().map(|&d| d as isize).collect();
            p.bind(&tape, &flat.narrow(0, at, *n).reshape(&dims)).unwrap();
            at += n;
        }
        let logits = net.forward(&tape, &Var::constant(x.clone()));
        cross_entropy(&logits, &labels, Reduction::Mean)
    };
    let gradient = |at: &Tensor<f64>| {
        let tape = Tape::new();
        let flat = tape.leaf(at.clone());
        let l = loss(&flat);
        l.backward().unwrap().get(&flat).unwrap().to_vec()
    };
    let direction = Tensor::<f64>::uniform(&[total], -1.0, 1.0, &mut rng);
    let (_, _, hv) = hvp(loss, &theta, &direction).unwrap();
    let h = 1e-5;
    let plus = gradient(&(&theta + &(&direction * h)));
    let minus = gradient(&(&theta - &(&direction * h)));
    let fd: Vec<f64> = plus.iter().zip(&minus).map(|(p, m)| (p - m) / (2.0 * h)).collect();
    assert!(hv.to_vec().iter().any(|v| v.abs() > 1e-3), "a vanishing product would pass vacuously");
    close(&hv.to_vec(), &fd, 1e-7, 1e-5).unwrap();
}
