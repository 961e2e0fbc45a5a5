//! The scoreboard's workloads, each built once and then run repeatedly: the
//! same code the criterion benches time and that `cargo xtask bench` sets
//! beside PyTorch's (benches/peers/torch_workloads.py does the same work).

use gradus::autodiff::{Tape, Var};
use gradus::data::{DataLoader, Dataset, mnist, transforms};
use gradus::loss::{BatchTargets, CrossEntropy};
use gradus::nn::{Mlp, Sequential};
use gradus::optim::{Adam, AdamConfig, Optimizer, State, UpdateRule};
use gradus::tensor::Tensor;
use gradus::{GradusError, Trainer};
use rand::{Rng, SeedableRng, rngs::StdRng};
use std::hint::black_box;
use std::sync::Arc;

/// A workload's name, what one run of it does, and how its time is reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spec {
    /// The name in reports (`mlp_step_b128`).
    pub name: &'static str,
    /// One line for the report.
    pub what: &'static str,
    /// Iterations per run; times are reported per iteration.
    pub iterations: usize,
    /// Timed runs (medians of these), full and `--quick`.
    pub reps: (usize, usize),
}

/// Every workload, in report order.
pub const ALL: [Spec; 18] = [
    Spec {
        name: "mlp_step_b32",
        what: "MLP 784-256-128-10 training step, batch 32, f32: forward, cross-entropy, backward, Adam",
        iterations: 1,
        reps: (200, 40),
    },
    Spec { name: "mlp_step_b128", what: "the same step at batch 128", iterations: 1, reps: (100, 20) },
    Spec { name: "mlp_step_b512", what: "the same step at batch 512", iterations: 1, reps: (40, 10) },
    Spec {
        name: "tanh_mlp_step_b128",
        what: "the same step at batch 128 with tanh instead of ReLU",
        iterations: 1,
        reps: (100, 20),
    },
    Spec {
        name: "softmax_ce_512x1000",
        what: "cross-entropy of 512×1000 f32 logits (mean over the rows) and its gradient",
        iterations: 1,
        reps: (100, 20),
    },
    Spec {
        name: "himmelblau_step",
        what: "tape overhead: one GD step on Himmelblau with 0-d values (graph, backward, update), f64",
        iterations: 1000,
        reps: (30, 10),
    },
    Spec { name: "adam_10m", what: "one Adam update of 10M f32 parameters", iterations: 1, reps: (30, 10) },
    Spec {
        name: "epoch_fashion_mnist",
        what: "one Fashion-MNIST epoch (shuffle, batches of 128 made from the bytes on the training thread, MLP step with Adam)",
        iterations: 1,
        reps: (5, 2),
    },
    Spec {
        name: "epoch_fashion_mnist_flush",
        what: "the same epoch with subnormals flushed to zero on both sides (gradus::tensor::set_flush_denormal, torch.set_flush_denormal)",
        iterations: 1,
        reps: (5, 2),
    },
    Spec { name: "matmul_1024", what: "f32 matmul 1024×1024×1024", iterations: 1, reps: (30, 10) },
    Spec {
        name: "cnn_step_b128",
        what: "CNN Conv2d(1,32,3) ReLU MaxPool2d(2) Conv2d(32,64,3) ReLU MaxPool2d(2) Flatten Linear(1600,128) ReLU Linear(128,10) training step, batch 128, f32, cross-entropy, Adam",
        iterations: 1,
        reps: (40, 10),
    },
    Spec {
        name: "conv2d_fwd_bwd",
        what: "Conv2d(64,64,3,padding=1) on 32×32, batch 32, f32: forward and the input, weight and bias gradients",
        iterations: 1,
        reps: (40, 10),
    },
    Spec {
        name: "bn_cnn_step_b128",
        what: "CNN with batch norm Conv2d(1,32,3,p=1) BN ReLU MaxPool2d(2) Conv2d(32,64,3,p=1) BN ReLU MaxPool2d(2) Flatten Linear(3136,128) ReLU Linear(128,10) training step, batch 128, f32, cross-entropy, Adam",
        iterations: 1,
        reps: (40, 10),
    },
    Spec {
        name: "resnet_step_b128",
        what: "ResNet of examples/resnet.spec (stem, stages of two basic blocks at 32, 64 and 128 channels, projections, global pool, linear; 0.70 M parameters) training step, batch 128, f32, cross-entropy, Adam",
        iterations: 1,
        reps: (20, 5),
    },
    Spec {
        name: "lstm_step_b128",
        what: "LSTM(28, 128) over the 28 rows of each image, its last step to Linear(128, 10) (LSTM_CLASSIFIER) training step, batch 128, f32, cross-entropy, Adam",
        iterations: 1,
        reps: (20, 5),
    },
    Spec {
        name: "transformer_step_b32",
        what: "byte-level decoder (TRANSFORMER_DECODER: embedding(256, 128), learned positions, 4 pre-norm causal layers of 4 heads and feed-forward 512, dropout 0.1; 0.89 M parameters) training step on 32 windows of 128 bytes, f32, cross-entropy at every position, AdamW",
        iterations: 1,
        reps: (10, 3),
    },
    Spec {
        name: "bn_cnn_epoch_fashion_mnist",
        what: "one Fashion-MNIST epoch of bn_cnn_step_b128 (shuffle, batches [128, 1, 28, 28] made from the bytes on the training thread)",
        iterations: 1,
        reps: (3, 1),
    },
    Spec {
        name: "cnn_epoch_fashion_mnist",
        what: "one Fashion-MNIST epoch of cnn_step_b128 (shuffle, batches [128, 1, 28, 28] made from the bytes on the training thread)",
        iterations: 1,
        reps: (3, 1),
    },
];

/// Floating-point operations of one iteration of a compute-bound workload
/// (2 per multiply-add), for its GFLOP/s; `None` for the others.
pub fn flops(name: &str) -> Option<f64> {
    // A training step: the forward pass, the weight gradients and the input
    // gradients of every layer but the first (its input is data).
    let step = |batch: f64| 2.0 * batch * (3.0 * CNN_FORWARD_MACS - CNN_FIRST_LAYER_MACS);
    match name {
        "cnn_step_b128" => Some(step(128.0)),
        // 468 batches of 128 and one of 96.
        "cnn_epoch_fashion_mnist" => Some(step(60_000.0)),
        "conv2d_fwd_bwd" => Some(2.0 * 3.0 * 32.0 * 64.0 * 64.0 * 9.0 * 1024.0),
        "bn_cnn_step_b128" => Some(2.0 * 128.0 * (3.0 * BN_CNN_FORWARD_MACS - 28.0 * 28.0 * 32.0 * 9.0)),
        "bn_cnn_epoch_fashion_mnist" => Some(2.0 * 60_000.0 * (3.0 * BN_CNN_FORWARD_MACS - 28.0 * 28.0 * 32.0 * 9.0)),
        "resnet_step_b128" => {
            let (forward, first) = resnet_macs();
            Some(2.0 * 128.0 * (3.0 * forward - first))
        }
        // Every step's products forward (x·W_ihᵀ and h·W_hhᵀ), their two
        // gradients backward, but the input's gradient (data); the head.
        "lstm_step_b128" => {
            let (ih, hh) = (28.0 * 512.0 * 28.0, 28.0 * 512.0 * 128.0);
            Some(2.0 * 128.0 * (2.0 * ih + 3.0 * hh + 3.0 * 1280.0))
        }
        // Per position and layer: the projections in (3d²) and out (d²),
        // the feed-forward block (2·d·f), scores and weighted values over
        // every key (2·T·d); then the head (256·d). Forward, and both
        // gradients backward (the embedding's input is data).
        "transformer_step_b32" => {
            let (d, f, t) = (128.0, 512.0, 128.0);
            let per_position = 4.0 * (4.0 * d * d + 2.0 * d * f + 2.0 * t * d) + 256.0 * d;
            Some(2.0 * 32.0 * t * 3.0 * per_position)
        }
        "matmul_1024" => Some(2.0 * 1024f64.powi(3)),
        _ => None,
    }
}

/// Multiply-adds of [`CNN`]'s first convolution per example: its input
/// gradient is never computed.
pub const CNN_FIRST_LAYER_MACS: f64 = 26.0 * 26.0 * 32.0 * 9.0;

/// The scoreboard's CNN, as `gradus train --model` takes it.
pub const CNN: &str = "seq(conv2d(1, 32, 3), relu, maxpool2d(2), conv2d(32, 64, 3), relu, maxpool2d(2), flatten, linear(1600, 128), relu, linear(128, 10))";

/// Multiply-adds of one forward pass of [`CNN`] per example: the two
/// convolutions (26²·32·9 and 11²·64·288) and the two linear layers.
pub const CNN_FORWARD_MACS: f64 = 26.0 * 26.0 * 32.0 * 9.0 + 11.0 * 11.0 * 64.0 * 288.0 + 1600.0 * 128.0 + 128.0 * 10.0;

/// The scoreboard's CNN with batch norm (padded convolutions).
pub const BN_CNN: &str = "seq(conv2d(1, 32, 3, padding=1), batchnorm2d(32), relu, maxpool2d(2), conv2d(32, 64, 3, padding=1), batchnorm2d(64), relu, maxpool2d(2), flatten, linear(3136, 128), relu, linear(128, 10))";

/// Multiply-adds of one forward pass of [`BN_CNN`] per example through its
/// convolutions and linear layers: 28²·32·9, 14²·64·288, 3136·128, 128·10.
pub const BN_CNN_FORWARD_MACS: f64 =
    28.0 * 28.0 * 32.0 * 9.0 + 14.0 * 14.0 * 64.0 * 288.0 + 3136.0 * 128.0 + 128.0 * 10.0;

/// The scoreboard's LSTM: each image as 28 rows of 28 pixels.
pub const LSTM_CLASSIFIER: &str = "seq(flatten, reshape(28, 28), lstm(28, 128), last_token, linear(128, 10))";

/// The scoreboard's transformer: the guide's byte-level decoder.
pub const TRANSFORMER_DECODER: &str = "seq(embedding(256, 128), pos_embedding(128, 128), repeat(4, transformer(128, 4, 512, dropout=0.1, norm_first=true, causal=true)), layernorm(128), linear(128, 256))";

/// The ResNet of `examples/resnet.spec`.
pub fn resnet() -> Sequential<f32> {
    let text = include_str!("../../examples/resnet.spec");
    gradus::models::ModelSpec::from_file_text(text).expect("a valid spec").build(0)
}

/// (multiply-adds of one forward pass of [`resnet`] per example through
/// its convolutions and linear layer, those of its first convolution,
/// whose input gradient is never computed), from its summary.
pub fn resnet_macs() -> (f64, f64) {
    let s = gradus::models::Summary::of(&resnet(), &[1, 28, 28]).expect("fits 28 × 28");
    let weighted = |kind: &str| kind == "Conv2d" || kind == "Linear";
    let forward = s.rows.iter().filter(|r| weighted(&r.kind)).map(|r| r.multiply_adds).sum();
    (forward, s.rows[0].multiply_adds)
}

/// A built workload: call it to run one repetition.
pub type Run = Box<dyn FnMut()>;

/// Builds the workload `name` (data, model, optimiser state); `None` for
/// an unknown name.
///
/// # Errors
/// The Fashion-MNIST epoch without the dataset installed.
pub fn build(name: &str) -> Result<Option<Run>, GradusError> {
    Ok(Some(match name {
        "mlp_step_b32" => mlp_step(32),
        "mlp_step_b128" => mlp_step(128),
        "mlp_step_b512" => mlp_step(512),
        "tanh_mlp_step_b128" => step_of(tanh_mlp(), 128),
        "softmax_ce_512x1000" => softmax_ce(),
        "himmelblau_step" => Box::new(|| {
            let (mut x, mut y) = (0.0, 0.0);
            for _ in 0..1000 {
                (x, y) = himmelblau_step(x, y, 0.01);
            }
            black_box((x, y));
        }),
        "adam_10m" => adam_10m(),
        "epoch_fashion_mnist" => epoch_fashion_mnist()?,
        "epoch_fashion_mnist_flush" => {
            gradus::tensor::set_flush_denormal(true);
            epoch_fashion_mnist()?
        }
        "matmul_1024" => {
            let mut rng = StdRng::seed_from_u64(0);
            let a = Tensor::<f32>::normal(&[1024, 1024], 0.0, 1.0, &mut rng);
            let b = Tensor::<f32>::normal(&[1024, 1024], 0.0, 1.0, &mut rng);
            Box::new(move || drop(black_box(a.matmul(&b))))
        }
        "matmul_1024_faer" => faer_matmul_1024(),
        "cnn_step_b128" => cnn_step(128),
        "conv2d_fwd_bwd" => conv2d_fwd_bwd(),
        "cnn_epoch_fashion_mnist" => cnn_epoch_fashion_mnist()?,
        "bn_cnn_step_b128" => image_step(spec_model(BN_CNN), 128),
        "resnet_step_b128" => image_step(resnet(), 128),
        "lstm_step_b128" => image_step(spec_model(LSTM_CLASSIFIER), 128),
        "transformer_step_b32" => text_step(spec_model(TRANSFORMER_DECODER), 32, 128),
        "bn_cnn_epoch_fashion_mnist" => epoch_of(fashion_mnist_images()?, spec_model(BN_CNN)),
        "stream_10m" => stream_10m(),
        // Once on every thread of the pool: a parallel iterator over the
        // thread count may run every item on one thread when the others
        // are slow to wake (it measured 95 GFLOP/s for two cores that ran
        // a product at 111).
        "fma_peak" => Box::new(|| drop(rayon::broadcast(|_| crate::peak::run_once()))),
        _ => return Ok(None),
    }))
}

/// The MLP of the issue: 784-256-128-10, ReLU, He initialisation, f32.
pub fn mlp() -> Sequential<f32> {
    Mlp::new(&[784, 256, 128, 10]).build(&mut StdRng::seed_from_u64(0))
}

/// A fixed random batch: inputs in [0, 1) as pixels are, classes 0–9.
pub fn batch(size: usize) -> (Var<f32>, BatchTargets<f32>) {
    let mut rng = StdRng::seed_from_u64(1);
    let x = Tensor::<f32>::uniform(&[size, 784], 0.0, 1.0, &mut rng);
    let y: Vec<usize> = (0..size).map(|_| rng.random_range(0..10)).collect();
    (Var::constant(x), BatchTargets::Classes(Tensor::from_vec(y, &[size]).expect("one class per row")))
}

/// A trainer with Adam at PyTorch's defaults, and the loss it trains with.
fn adam_trainer() -> (Trainer<f32>, CrossEntropy<f32>) {
    (
        Trainer::new(Optimizer::new(Adam::new(AdamConfig::default()).expect("defaults are valid"))),
        CrossEntropy::default(),
    )
}

/// One training step through the public API: a fresh tape, forward,
/// softmax cross-entropy, backward, Adam (PyTorch's defaults) on every
/// parameter.
fn mlp_step(size: usize) -> Run {
    step_of(mlp(), size)
}

/// [`mlp`] with tanh between the layers.
pub fn tanh_mlp() -> Sequential<f32> {
    Mlp::new(&[784, 256, 128, 10]).activation(gradus::nn::Activation::Tanh).build(&mut StdRng::seed_from_u64(0))
}

/// One cross-entropy of fixed random logits `[512, 1000]` against random
/// classes, forward and backward.
fn softmax_ce() -> Run {
    let mut rng = StdRng::seed_from_u64(3);
    let z = Tensor::<f32>::normal(&[512, 1000], 0.0, 1.0, &mut rng);
    let y: Vec<usize> = (0..512).map(|_| rng.random_range(0..1000)).collect();
    let y = Tensor::from_vec(y, &[512]).expect("one class per row");
    Box::new(move || {
        let tape = Tape::new();
        let zv = tape.leaf(z.clone());
        let loss = gradus::loss::cross_entropy(&zv, &y, gradus::loss::Reduction::Mean);
        black_box(loss.backward().expect("recorded"));
    })
}

/// One training step of `model` on [`batch`]`(size)` with Adam.
fn step_of(model: Sequential<f32>, size: usize) -> Run {
    let (x, y) = batch(size);
    let (mut trainer, loss) = adam_trainer();
    Box::new(move || {
        black_box(trainer.step(&model, &loss, &x, &y, None).expect("a valid step"));
    })
}

/// [`CNN`], initialised as PyTorch initialises it.
pub fn cnn() -> Sequential<f32> {
    gradus::models::ModelSpec::parse(CNN).expect("a valid spec").build(0)
}

/// One training step of [`cnn`] on a fixed random batch `[size, 1, 28, 28]`.
fn cnn_step(size: usize) -> Run {
    image_step(cnn(), size)
}

/// A model from a spec, initialised as PyTorch initialises it.
fn spec_model(spec: &str) -> Sequential<f32> {
    gradus::models::ModelSpec::parse(spec).expect("a valid spec").build(0)
}

/// One training step of `model` on a fixed random batch `[size, 1, 28, 28]`.
fn image_step(model: Sequential<f32>, size: usize) -> Run {
    let (x, y) = batch(size);
    let x = Var::constant(x.value().reshape(&[size as isize, 1, 28, 28]));
    let (mut trainer, loss) = adam_trainer();
    Box::new(move || {
        black_box(trainer.step(&model, &loss, &x, &y, None).expect("a valid step"));
    })
}

/// One AdamW training step of a byte-level `model` on `size` fixed random
/// windows of `context` bytes, a next byte to predict at every position.
fn text_step(model: Sequential<f32>, size: usize, context: usize) -> Run {
    let mut rng = StdRng::seed_from_u64(1);
    let bytes: Vec<usize> = (0..size * (context + 1)).map(|_| rng.random_range(0..256)).collect();
    let rows: Vec<&[usize]> = bytes.chunks(context + 1).collect();
    let x: Vec<f32> = rows.iter().flat_map(|r| r[..context].iter().map(|&b| b as f32)).collect();
    let y: Vec<usize> = rows.iter().flat_map(|r| r[1..].iter().copied()).collect();
    let x = Var::constant(Tensor::from_vec(x, &[size, context]).expect("one value per byte"));
    let y = BatchTargets::Classes(Tensor::from_vec(y, &[size, context]).expect("one target per byte"));
    let adamw = gradus::optim::parse::<f32>("adamw(lr=1e-3)").expect("a valid spec");
    let mut trainer = Trainer::new(Optimizer::boxed(adamw));
    let loss = CrossEntropy::default();
    Box::new(move || {
        black_box(trainer.step(&model, &loss, &x, &y, None).expect("a valid step"));
    })
}

/// One Conv2d(64, 64, 3, padding=1) on `[32, 64, 32, 32]`: forward, then
/// backward of the output's sum to the input, weight and bias.
fn conv2d_fwd_bwd() -> Run {
    use gradus::autodiff::{ConvOptions, Padding};
    use gradus::nn::{Conv2d, Module};
    let mut rng = StdRng::seed_from_u64(2);
    let opts = ConvOptions::default().padding(Padding::Explicit([1, 1]));
    let conv = Conv2d::<f32>::new(64, 64, [3, 3], opts, true, &mut rng).expect("a valid layer");
    let x = Tensor::<f32>::normal(&[32, 64, 32, 32], 0.0, 1.0, &mut rng);
    Box::new(move || {
        let tape = Tape::new();
        let xv = tape.leaf(x.clone());
        let y = conv.forward(&tape, &xv);
        black_box(y.sum(.., false).backward().expect("recorded"));
    })
}

/// One epoch of [`cnn_step`]s at batch 128 over a shuffled loader, the
/// next epoch's order on each run, batches made on the training thread.
fn cnn_epoch_fashion_mnist() -> Result<Run, GradusError> {
    Ok(epoch_of(fashion_mnist_images()?, cnn()))
}

/// Fashion-MNIST's training images as `[1, 28, 28]` floats in [0, 1].
fn fashion_mnist_images() -> Result<Arc<dyn Dataset>, GradusError> {
    let (train, _) = mnist::load(mnist::Mnist::Fashion, None)?;
    Ok(Arc::new(transforms::reshape(Arc::new(transforms::scale_u8(Arc::new(train))), vec![1, 28, 28])))
}

/// One GD step on Himmelblau's function f = (x² + y − 11)² + (x + y² − 7)²
/// with 0-d variables; returns the new point.
pub fn himmelblau_step(x: f64, y: f64, lr: f64) -> (f64, f64) {
    let tape = Tape::new();
    let (vx, vy) = (tape.leaf(Tensor::scalar(x)), tape.leaf(Tensor::scalar(y)));
    let f = (&vx.square() + &vy - 11.0).square() + (&vx + &vy.square() - 7.0).square();
    let g = f.backward().expect("recorded");
    (x - lr * g.get(&vx).expect("x used").item(), y - lr * g.get(&vy).expect("y used").item())
}

fn adam_10m() -> Run {
    let n = 10_000_000;
    let adam = Adam::new(AdamConfig::default()).expect("defaults are valid");
    // Parameters and gradients on huge pages, as gradus's own tensors of this
    // size are (and PyTorch's, with THP_MEM_ALLOC_ENABLE).
    let mut grad = gradus::tensor::advised_vec(n);
    grad.extend((0..n).map(|i| ((i % 1000) as f32 - 500.0) * 1e-3));
    let mut param = gradus::tensor::filled_vec(n, 0.5f32);
    let mut state: State<f32> = UpdateRule::<f32>::init(&adam, 1e-3, &[n]);
    Box::new(move || {
        adam.update(1e-3, &mut param, &grad, &mut state);
        black_box(&mut param);
    })
}

/// The training set as a user would load it: bytes in memory, scaled to
/// [0, 1] and flattened as batches are made.
pub fn fashion_mnist_train() -> Result<Arc<dyn Dataset>, GradusError> {
    let (train, _) = mnist::load(mnist::Mnist::Fashion, None)?;
    Ok(Arc::new(transforms::flatten(Arc::new(transforms::scale_u8(Arc::new(train))))))
}

/// One epoch of [`mlp_step`]s at batch 128 over a shuffled loader, the next
/// epoch's order on each run. Batches are made on the training thread, as
/// the PyTorch side indexes its tensors there: on 2 cores a loader worker
/// takes CPU from the step's threads (1.08 s against 0.91 s per epoch).
fn epoch_fashion_mnist() -> Result<Run, GradusError> {
    Ok(epoch_of(fashion_mnist_train()?, mlp()))
}

/// One epoch of Adam steps of `model` over `data` in batches of 128, the
/// next epoch's shuffled order on each run, batches made on the training
/// thread: the two scoreboard epochs.
fn epoch_of(data: Arc<dyn Dataset>, model: Sequential<f32>) -> Run {
    let loader = DataLoader::new(data, 128).shuffle(0).workers(0);
    let (mut trainer, loss) = adam_trainer();
    let mut epoch = 0;
    Box::new(move || {
        for batch in loader.epoch::<f32>(epoch) {
            let batch = batch.expect("readable");
            let gradus::data::BatchTargets::Classes(c) = batch.targets else { unreachable!("class targets") };
            let x = Var::constant(batch.features);
            black_box(trainer.step(&model, &loss, &x, &BatchTargets::Classes(c), None).expect("a valid step"));
        }
        epoch += 1;
    })
}

/// faer alone on the same product, writing into one reused output: the
/// bar for `matmul_1024` (gradus adds its output allocation and dispatch).
fn faer_matmul_1024() -> Run {
    use faer::linalg::matmul::matmul;
    use faer::{Accum, Mat, Par};
    let mut rng = StdRng::seed_from_u64(0);
    let a = Mat::<f32>::from_fn(1024, 1024, |_, _| rng.random_range(-1.0..1.0));
    let b = Mat::<f32>::from_fn(1024, 1024, |_, _| rng.random_range(-1.0..1.0));
    let mut out = Mat::<f32>::zeros(1024, 1024);
    let par = if rayon::current_num_threads() > 1 { Par::rayon(0) } else { Par::Seq };
    Box::new(move || {
        matmul(out.as_mut(), Accum::Replace, a.as_ref(), b.as_ref(), 1.0, par);
        black_box(&mut out);
    })
}

/// The memory-bandwidth probe Adam's update is held against: a += 3·c over
/// 10M f32 on the rayon pool, 12 bytes per element (a read and written in
/// place, c read), every byte counted moving once, as in Adam's update. A
/// STREAM triad a = b + 3c, also counted as 12 bytes, moves 16: its
/// destination's lines are read before they are written, which made Adam
/// look faster than memory (1.3–1.7× the triad's figure). On huge pages, as
/// Adam's buffers are.
fn stream_10m() -> Run {
    use rayon::prelude::*;
    let n = 10_000_000;
    let c = gradus::tensor::filled_vec(n, 2.0f32);
    let mut a = gradus::tensor::filled_vec(n, 1.0f32);
    Box::new(move || {
        a.par_chunks_mut(1 << 16).zip(c.par_chunks(1 << 16)).for_each(|(a, c)| {
            for (x, &z) in a.iter_mut().zip(c) {
                *x += 3.0 * z;
            }
        });
        black_box(&mut a);
    })
}
