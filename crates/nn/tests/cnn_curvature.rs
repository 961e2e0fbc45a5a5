//! Second order through a convolutional network: the Hessian-vector
//! product of a small CNN's loss with respect to all its parameters (two
//! backward passes through conv, max pool, batch norm, average pool and
//! linear) agrees with central differences of its gradient, so Newton-type
//! methods and curvature tools work on conv nets.

use gradus_autodiff::{ConvOptions, MaxPoolOptions, Padding, Tape, Var, hvp};
use gradus_loss::{Reduction, cross_entropy};
use gradus_nn::{AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Flatten, Linear, MaxPool2d, Module, Sequential, Tanh};
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

#[test]
fn hessian_vector_products_match_differences_of_the_gradient() {
    let net = model();
    let params: Vec<(Vec<usize>, usize)> = net.named_parameters().iter().map(|(_, p)| (p.shape(), p.numel())).collect();
    let total: usize = params.iter().map(|(_, n)| n).sum();
    let mut rng = StdRng::seed_from_u64(9);
    let x = Tensor::<f64>::uniform(&[4, 1, 9, 9], -1.0, 1.0, &mut rng);
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
