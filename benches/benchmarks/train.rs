//! Training: one full step (fresh tape, forward, softmax cross-entropy,
//! backward, Adam) of an MLP 784-256-128-10 at batch 32, 128 and 512 in
//! f32, softmax cross-entropy forward + backward alone, and one whole
//! Fashion-MNIST epoch including the loader (skipped without the dataset).
//! The workloads are the scoreboard's (`gradus_benches::workloads`).

use criterion::{BenchmarkId, Criterion, Throughput};
use gradus_benches::workloads::{self, batch};
use gradus_loss::{Reduction, cross_entropy};
use gradus_tensor::Tensor;
use rand::SeedableRng;
use std::hint::black_box;

fn train_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("train");
    for size in [32, 128, 512] {
        let name = format!("mlp_step_b{size}");
        let mut run = workloads::build(&name).expect("no data needed").expect("a workload");
        group.throughput(Throughput::Elements(size as u64));
        group.bench_function(&name, |b| b.iter(&mut run));
    }
    for (rows, classes) in [(128, 10), (512, 1000)] {
        let mut rng = rand::rngs::StdRng::seed_from_u64(4);
        let logits = Tensor::<f32>::normal(&[rows, classes], 0.0, 1.0, &mut rng);
        let (_, targets) = batch(rows);
        let gradus_loss::BatchTargets::Classes(y) = targets else { unreachable!("class targets") };
        let y = if classes == 10 {
            y
        } else {
            Tensor::from_vec((0..rows).map(|i| i * 7 % classes).collect(), &[rows]).expect("rows")
        };
        group.throughput(Throughput::Elements(rows as u64));
        group.bench_function(BenchmarkId::new("softmax_cross_entropy_fwd_bwd", format!("{rows}x{classes}")), |b| {
            b.iter(|| {
                let tape = gradus_autodiff::Tape::new();
                let z = tape.leaf(logits.clone());
                let grads = cross_entropy(&z, &y, Reduction::Mean).backward().expect("recorded");
                black_box(grads.get(&z).is_some())
            })
        });
    }
    group.finish();
    match workloads::build("epoch_fashion_mnist") {
        Ok(Some(mut run)) => {
            let mut group = c.benchmark_group("train_epoch");
            group.sample_size(10);
            group.throughput(Throughput::Elements(60_000));
            group.bench_function("epoch_fashion_mnist", |b| b.iter(&mut run));
            group.finish();
        }
        _ => eprintln!("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist): epoch bench skipped"),
    }
}

criterion::criterion_group! {
    name = benches;
    config = super::config();
    targets = train_benches
}
