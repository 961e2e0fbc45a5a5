//! Layers: forward + backward of Linear 784→256 with ReLU at batch 128
//! (f32), in FLOPs (6·b·in·out: the forward product and the two of the
//! backward), so criterion's "Gelem/s" reads as achieved GFLOP/s beside the
//! bare matmul's in the matmul group.

use criterion::{Criterion, Throughput};
use gradus_autodiff::{Tape, Var};
use gradus_nn::{Linear, Module, Relu, Sequential};
use gradus_tensor::Tensor;
use rand::SeedableRng;
use std::hint::black_box;

/// One forward + backward pass of `layer` on `x`, returning the weight gradient.
pub fn linear_relu_step(layer: &Sequential<f32>, x: &Var<f32>) -> Tensor<f32> {
    let tape = Tape::new();
    let loss = layer.forward(&tape, x).sum(.., false);
    let grads = loss.backward().expect("recorded");
    let (_, weight) = &layer.named_parameters()[0];
    weight.grad(&tape, &grads).expect("used")
}

fn layer_benches(c: &mut Criterion) {
    let (batch, n_in, n_out) = (128, 784, 256);
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let layer = Sequential::new().append(Linear::new(n_in, n_out, &mut rng)).append(Relu);
    let x = Var::constant(Tensor::<f32>::normal(&[batch, n_in], 0.0, 1.0, &mut rng));
    let mut group = c.benchmark_group("layer");
    // FLOPs of two products: the forward and the weight gradient (the input
    // is a constant, so its gradient is never computed).
    group.throughput(Throughput::Elements(4 * (batch * n_in * n_out) as u64));
    group.bench_function("linear_784_256_relu_b128_fwd_bwd", |b| b.iter(|| black_box(linear_relu_step(&layer, &x))));
    group.finish();
}

criterion::criterion_group! {
    name = benches;
    config = super::config();
    targets = layer_benches
}
