//! The issue bars of gradus-tensor as ratios from one run: gradus matmul
//! against faer called directly (same shapes, same parallelism), and
//! element-wise kernels against plain slice loops, timed interleaved.
//!
//! `cargo run -p gradus-benches --release --bin ratios [matmul|elementwise|vmath|autodiff|layer|data]
//!
//! (Adam against the memory bandwidth is in the scoreboard: `cargo xtask bench`.)`

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use gradus_benches::interleaved_medians;
use gradus_tensor::{Tensor, set_parallel_matmul_threshold};
use rand::SeedableRng;
use std::hint::black_box;

const REPS: usize = 30;

fn matmul_row(m: usize, k: usize, n: usize, threads: usize) {
    let par = if threads > 1 { Par::rayon(threads) } else { Par::Seq };
    set_parallel_matmul_threshold(if threads > 1 { 0 } else { usize::MAX });
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let a = Tensor::<f32>::normal(&[m, k], 0.0, 1.0, &mut rng);
    let b = Tensor::<f32>::normal(&[k, n], 0.0, 1.0, &mut rng);
    let bt = b.t().contiguous();
    let (sa, sb) = (a.as_slice().unwrap(), b.as_slice().unwrap());
    let mut out = vec![0f32; m * n];
    let t = interleaved_medians(
        REPS,
        &mut [&mut || drop(black_box(a.matmul(&b))), &mut || drop(black_box(a.matmul(&bt.t()))), &mut || {
            let dst = MatMut::from_row_major_slice_mut(&mut out, m, n);
            let (l, r) = (MatRef::from_row_major_slice(sa, m, k), MatRef::from_row_major_slice(sb, k, n));
            matmul(dst, Accum::Replace, l, r, 1.0, par);
            black_box(&mut out);
        }],
    );
    let gflops = |s: f64| 2.0 * (m * n * k) as f64 / s / 1e9;
    println!(
        "| {m}x{k}x{n} | {threads} | {:.1} ({:.0} GFLOP/s) | {:.1} | {:.1} | {:.3} | {:.3} |",
        t[0] * 1e6,
        gflops(t[0]),
        t[1] * 1e6,
        t[2] * 1e6,
        t[0] / t[2],
        t[1] / t[2]
    );
}

fn elementwise_row(n: usize) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let a = Tensor::<f32>::uniform(&[n], -1.0, 1.0, &mut rng);
    let b = Tensor::<f32>::uniform(&[n], -1.0, 1.0, &mut rng);
    let (sa, sb) = (a.to_vec(), b.to_vec());
    let mut out = vec![0f32; n];
    let mut out2 = vec![0f32; n];
    let t = interleaved_medians(
        REPS,
        &mut [
            &mut || drop(black_box(&a + &b)),
            &mut || {
                for ((o, &x), &y) in out.iter_mut().zip(&sa).zip(&sb) {
                    *o = x + y;
                }
                black_box(&mut out);
            },
            &mut || drop(black_box(sa.iter().zip(&sb).map(|(&x, &y)| x + y).collect::<Vec<f32>>())),
            &mut || drop(black_box(a.tanh())),
            &mut || {
                for (o, &x) in out2.iter_mut().zip(&sa) {
                    *o = x.tanh();
                }
                black_box(&mut out2);
            },
        ],
    );
    let gbs = |s: f64| 12.0 * n as f64 / s / 1e9;
    println!(
        "| {n} | {:.0} ({:.1} GB/s) | {:.0} | {:.0} | {:.2} | {:.2} | {:.0} | {:.0} | {:.2} |",
        t[0] * 1e6,
        gbs(t[0]),
        t[1] * 1e6,
        t[2] * 1e6,
        t[0] / t[1],
        t[0] / t[2],
        t[3] * 1e6,
        t[4] * 1e6,
        t[3] / t[4]
    );
}

fn main() {
    gradus_tensor::init_threads(0).expect("nothing has used rayon before main");
    let only = std::env::args().nth(1);
    let wants = |group: &str| only.as_deref().is_none_or(|o| o == group);
    if wants("matmul") {
        matmul_table();
    }
    if wants("elementwise") {
        elementwise_table();
    }
    if wants("vmath") {
        vmath_table();
    }
    if wants("autodiff") {
        autodiff_table();
    }
    if wants("layer") {
        layer_table();
    }
    if wants("data") {
        data_table();
    }
}

/// The vector kernels of `gradus_tensor::vmath` against the standard
/// library's scalar functions (libm) on 1 M values, one thread, f32 and f64.
fn vmath_table() {
    use gradus_tensor::vmath::{self, Function};
    fn scalar<T: gradus_tensor::Float>(f: Function) -> fn(T) -> T {
        match f {
            Function::Exp => T::exp,
            Function::Ln => T::ln,
            Function::Log1p => T::ln_1p,
            Function::Expm1 => T::exp_m1,
            Function::Tanh => T::tanh,
            Function::Sigmoid => gradus_tensor::sigmoid,
            Function::Erf => <T as gradus_tensor::Float>::erf,
            Function::Softplus => |x: T| x.max(T::zero()) + (-x.abs()).exp().ln_1p(),
        }
    }
    fn row<T: gradus_tensor::Float>(f: Function, name: &str) {
        let n = 1_000_000;
        let lo = if f == Function::Ln { 1e-3 } else { -8.0 };
        let x: Vec<T> = (0..n).map(|i| T::of(lo + (8.0 - lo) * i as f64 / n as f64)).collect();
        let (mut a, mut b) = (vec![T::zero(); n], vec![T::zero(); n]);
        let k = scalar::<T>(f);
        let t = interleaved_medians(
            REPS,
            &mut [&mut || vmath::apply(f, &x, black_box(&mut a)), &mut || {
                for (o, &v) in b.iter_mut().zip(&x) {
                    *o = k(v);
                }
                black_box(&mut b);
            }],
        );
        println!(
            "| {f:?} | {name} | {:.2} | {:.2} | {:.1} |",
            t[0] * 1e9 / n as f64,
            t[1] * 1e9 / n as f64,
            t[1] / t[0]
        );
    }
    gradus_tensor::clear_upper_simd_state();
    println!(
        "\nvector kernels ({}) against libm, 1 M values, one thread, ns per value, medians of {REPS} interleaved runs\n",
        vmath::path()
    );
    println!("| function | type | vmath | libm | libm / vmath |");
    println!("|---|---|---|---|---|");
    for f in Function::ALL {
        row::<f32>(f, "f32");
    }
    for f in Function::ALL {
        row::<f64>(f, "f64");
    }
}

/// Fashion-MNIST batches of 128 through the whole loader (shuffle, bytes
/// to [0, 1], flatten, collate to f32) against one training step of an MLP
/// 784-256-128-10 (forward, backward, SGD update) at the same batch size.
fn data_table() {
    const BATCHES: usize = 400;
    use gradus_autodiff::{Tape, Var};
    use gradus_data::{DataLoader, mnist, transforms};
    use gradus_loss::{Reduction, cross_entropy};
    use gradus_nn::{Mlp, Module};
    use std::sync::Arc;
    let Ok((train, _)) = mnist::load(mnist::Mnist::Fashion, None) else {
        println!("\nFashion-MNIST not installed: data table skipped");
        return;
    };
    let ds = Arc::new(transforms::flatten(Arc::new(transforms::scale_u8(Arc::new(train)))));
    println!("\nFashion-MNIST loader, batches of 128 (f32), medians of {REPS} interleaved runs\n");
    println!("| workers | {BATCHES} batches (ms) | batches/s | MLP step (ms) | steps/s | loader / step throughput |");
    println!("|---|---|---|---|---|---|");
    let model = Mlp::new(&[784, 256, 128, 10]).build::<f32, _>(&mut rand::rngs::StdRng::seed_from_u64(0));
    let first = DataLoader::new(ds.clone(), 128).epoch::<f32>(0).next().expect("a batch").expect("readable");
    let gradus_data::BatchTargets::Classes(y) = first.targets else { unreachable!("class targets") };
    let x = Var::constant(first.features);
    for workers in [0, 2] {
        let loader = DataLoader::new(ds.clone(), 128).shuffle(1).workers(workers);
        let t = interleaved_medians(
            REPS,
            &mut [
                &mut || {
                    for b in loader.epoch::<f32>(0).take(BATCHES) {
                        black_box(b.expect("readable"));
                    }
                },
                &mut || {
                    let tape = Tape::new();
                    let loss = cross_entropy(&model.forward(&tape, &x), &y, Reduction::Mean);
                    let grads = loss.backward().expect("recorded");
                    for (_, p, g) in model.gradients(&tape, &grads) {
                        p.set(&p.value() - &(&g * 0.01));
                    }
                },
            ],
        );
        let (batches_per_s, steps_per_s) = (BATCHES as f64 / t[0], 1.0 / t[1]);
        println!(
            "| {workers} | {:.1} | {batches_per_s:.0} | {:.2} | {steps_per_s:.0} | {:.1} |",
            t[0] * 1e3,
            t[1] * 1e3,
            batches_per_s / steps_per_s
        );
    }
}

/// Linear 784→256 + ReLU, batch 128, f32: forward + backward (three
/// products, 6·b·in·out FLOPs) against the bare forward product.
fn layer_table() {
    use gradus_autodiff::{Tape, Var};
    use gradus_nn::{Linear, Module, Relu, Sequential};
    let (b, n_in, n_out) = (128, 784, 256);
    println!(
        "
Linear {n_in}→{n_out} + ReLU, batch {b}, f32, medians of {REPS} interleaved runs (µs)\n"
    );
    println!(
        "| threads | matmul {b}x{n_in}x{n_out} | layer fwd + bwd | fwd + bwd / matmul | matmul GFLOP/s | layer GFLOP/s |"
    );
    println!("|---|---|---|---|---|---|");
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let layer = Sequential::<f32>::new().append(Linear::new(n_in, n_out, &mut rng)).append(Relu);
    let x = Tensor::<f32>::normal(&[b, n_in], 0.0, 1.0, &mut rng);
    let w = layer.named_parameters()[0].1.value();
    let input = Var::constant(x.clone());
    for threads in [1, 2] {
        set_parallel_matmul_threshold(if threads > 1 { 0 } else { usize::MAX });
        let t = interleaved_medians(
            REPS,
            &mut [&mut || drop(black_box(x.matmul(&w.t()))), &mut || {
                let tape = Tape::new();
                let grads = layer.forward(&tape, &input).sum(.., false).backward().expect("recorded");
                black_box(grads);
            }],
        );
        let flops = (b * n_in * n_out) as f64;
        println!(
            "| {threads} | {:.0} | {:.0} | {:.2} | {:.0} | {:.0} |",
            t[0] * 1e6,
            t[1] * 1e6,
            t[1] / t[0],
            2.0 * flops / t[0] / 1e9,
            // Two products: the forward and the weight gradient (the
            // input is data, so its gradient is never computed).
            4.0 * flops / t[1] / 1e9
        );
    }
    set_parallel_matmul_threshold(gradus_tensor::DEFAULT_PARALLEL_MATMUL_FLOPS);
}

fn autodiff_table() {
    use gradus_autodiff::{Tape, Var};
    println!("\nautodiff, f32, medians of {REPS} interleaved runs (µs)\n");
    println!("| network | batch | forward (recorded) | forward + backward | backward / forward | forward, no tape |");
    println!("|---|---|---|---|---|---|");
    let sizes = [784, 256, 128, 10];
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let ws: Vec<Tensor<f32>> = (0..3).map(|l| Tensor::normal(&[sizes[l + 1], sizes[l]], 0.0, 0.05, &mut rng)).collect();
    let bs: Vec<Tensor<f32>> = (0..3).map(|l| Tensor::zeros(&[sizes[l + 1]])).collect();
    for batch in [32, 128] {
        let x = Tensor::<f32>::normal(&[batch, 784], 0.0, 1.0, &mut rng);
        let forward = |record: bool| {
            let tape = Tape::new();
            let leaf = |t: &Tensor<f32>| if record { tape.leaf(t.clone()) } else { Var::constant(t.clone()) };
            let params: Vec<(Var<f32>, Var<f32>)> = ws.iter().zip(&bs).map(|(w, b)| (leaf(w), leaf(b))).collect();
            let mut a = Var::constant(x.clone());
            for (l, (w, b)) in params.iter().enumerate() {
                let z = a.matmul(&w.t()).add(b);
                a = if l < 2 { z.tanh() } else { z };
            }
            (a.log_softmax(-1).mean(.., false), params)
        };
        let t = interleaved_medians(
            REPS,
            &mut [
                &mut || drop(black_box(forward(true))),
                &mut || {
                    let (loss, params) = forward(true);
                    let grads = loss.backward().expect("recorded");
                    black_box((grads.get(&params[0].0).is_some(), params));
                },
                &mut || drop(black_box(forward(false))),
            ],
        );
        let backward = t[1] - t[0];
        println!(
            "| 784-256-128-10 | {batch} | {:.0} | {:.0} | {:.2} | {:.0} |",
            t[0] * 1e6,
            t[1] * 1e6,
            backward / t[0],
            t[2] * 1e6
        );
    }
}

fn matmul_table() {
    println!("matmul, f32, medians of {REPS} interleaved runs (µs)\n");
    println!("| m×k×n | threads | gradus | gradus, rhs = Bᵀ view | faer direct | gradus / faer | gradus Bᵀ / faer |");
    println!("|---|---|---|---|---|---|---|");
    for (m, k, n) in [(128, 784, 256), (512, 784, 256), (128, 256, 128), (1024, 1024, 1024)] {
        for threads in [1, 2] {
            matmul_row(m, k, n, threads);
        }
    }
}

fn elementwise_table() {
    // The faer-direct baselines above leave dirty vector state behind (see
    // gradus-tensor's simd_state.rs); start this table clean.
    gradus_tensor::clear_upper_simd_state();
    rayon::broadcast(|_| gradus_tensor::clear_upper_simd_state());
    println!("\nelement-wise, f32, medians of {REPS} interleaved runs (µs)\n");
    println!(
        "| n | gradus add | loop, reused out | loop, fresh Vec | add / reused | add / fresh | gradus tanh | loop tanh | tanh ratio |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for n in [1_000_000, 10_000_000] {
        elementwise_row(n);
    }
}
