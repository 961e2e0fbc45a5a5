//! Data-parallel training over MPI gives the weights of one process with
//! the same global batch. Each case runs `mpirun -np N` on this test
//! binary's own `rank_*` test (ignored in a plain run), which trains as
//! one rank and has rank 0 write the parameters; the parent trains the
//! same model in-process and compares. Needs the `mpi` feature and
//! `mpirun` (skipped, saying so, without it).
#![cfg(feature = "mpi")]

use gradus::data::{DataLoader, Dataset, Features, InMemory, Targets};
use gradus::loss::CrossEntropy;
use gradus::models::ModelSpec;
use gradus::nn::Module;
use gradus::{BatchStats, GradusError, Loaders, Trainer, mpi::Mpi};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

const CHILD: &str = "GRADUS_TEST_MPI_CASE";

/// Dataset of 52 "images" 1×6×6 in 3 classes (a last batch of 4 with
/// batch 12: every rank of 3 still gets an example).
fn dataset(bad_rank: Option<usize>, rank: usize) -> Arc<dyn Dataset> {
    let n = 52;
    let features: Vec<f64> = (0..n * 36).map(|i| ((i * 7919) % 251) as f64 / 125.0 - 1.0).collect();
    let targets: Vec<usize> = (0..n).map(|i| (i * 5 + i / 7) % 3).collect();
    if bad_rank == Some(rank) {
        return Arc::new(Unreadable);
    }
    Arc::new(InMemory::new(Features::F64(features), vec![1, 6, 6], Targets::Classes(targets)).unwrap())
}

/// A data set whose file cannot be read.
#[derive(Debug)]
struct Unreadable;

impl Dataset for Unreadable {
    fn len(&self) -> usize {
        52
    }
    fn feature_shape(&self) -> Vec<usize> {
        vec![1, 6, 6]
    }
    fn get(&self, _: usize) -> gradus::data::Result<gradus::data::Sample> {
        let source = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "permission denied");
        Err(gradus::data::DataError::Io { path: "/data/train-images-idx3-ubyte".into(), source })
    }
}

/// The convolution has no bias: batch norm removes it, so its gradient is
/// zero up to rounding, which Adam would magnify into rounding-sized
/// differences between any two summation orders.
fn spec(case: &str) -> &'static str {
    match case {
        "fmnist" => "seq(linear(784, 256), relu, linear(256, 128), relu, linear(128, 10))",
        "mlp" => "seq(flatten, linear(36, 16), tanh, linear(16, 3))",
        "dropout" => "seq(flatten, linear(36, 16), relu, dropout(0.3), linear(16, 3))",
        _ => "seq(conv2d(1, 4, 3, bias=false), batchnorm2d(4), relu, maxpool2d(2), flatten, linear(16, 3))",
    }
}

/// Fashion-MNIST's training set, flattened, scaled to [0, 1].
fn fashion_mnist() -> Arc<dyn Dataset> {
    use gradus::data::{mnist, transforms};
    let (train, _) = mnist::load(mnist::Mnist::Fashion, None).unwrap();
    Arc::new(transforms::flatten(Arc::new(transforms::scale_u8(Arc::new(train)))))
}

/// Trains `case` and returns the parameters and buffers, flattened: two
/// epochs (10 steps) of Adam on the small data set, or (`fmnist`) one
/// Fashion-MNIST epoch of SGD with momentum in batches of 128.
fn train(case: &str, replicas: Option<Rc<Mpi>>, bad_rank: Option<usize>) -> Result<Vec<f64>, GradusError> {
    let model = ModelSpec::parse(spec(case)).unwrap().build::<f64>(3);
    let real = case == "fmnist";
    let optim = if real { "sgd(lr=0.05, momentum=0.9)" } else { "adam(lr=0.01)" };
    let mut trainer = Trainer::new(gradus::optim::Optimizer::boxed(gradus::optim::parse(optim).unwrap()));
    let (rank, size) = replicas.as_ref().map_or((0, 1), |r| (r.world().rank(), r.world().size()));
    if let Some(r) = replicas {
        trainer = trainer.replicated(r, BatchStats::Global);
    }
    let data = if real { fashion_mnist() } else { dataset(bad_rank, rank) };
    let train = DataLoader::new(Arc::clone(&data), if real { 128 } else { 12 }).shuffle(5).shard(rank, size);
    // Evaluation is not what is compared: four examples do for the real data.
    let eval_set = if real { Arc::new(gradus::data::Subset::new(data, vec![0, 1, 2, 3]).unwrap()) } else { data };
    let eval = DataLoader::new(eval_set, 20).shard(rank, size);
    for _ in 0..(if real { 1 } else { 2 }) {
        trainer.epoch(&model, &CrossEntropy::default(), &Loaders { train: &train, monitor: &eval, test: &eval })?;
    }
    let mut out = Vec::new();
    for (_, p) in model.named_parameters() {
        out.extend(p.value().to_vec());
    }
    for (_, b) in model.named_buffers() {
        out.extend(b.value().to_vec());
    }
    Ok(out)
}

/// `mpirun` with the transport that crosses machines (TCP, on loopback).
fn mpirun(np: usize, case: &str, out: &Path) -> Option<(std::process::ExitStatus, String, Duration)> {
    if !gradus::dist::has_mpirun() {
        eprintln!("skipped: no mpirun on PATH (install openmpi-bin)");
        return None;
    }
    let exe = std::env::current_exe().unwrap();
    let start = Instant::now();
    let output = gradus::dist::loopback_mpirun(np)
        .arg(exe)
        .args(["--ignored", "--exact", "rank_main", "--nocapture", "--test-threads=1"])
        .env(CHILD, format!("{case}:{}", out.display()))
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr);
    Some((output.status, text, start.elapsed()))
}

fn read(path: &Path) -> Vec<f64> {
    std::fs::read_to_string(path).unwrap().split_whitespace().map(|w| f64::from_bits(w.parse().unwrap())).collect()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gradus-dist-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("out.txt")
}

/// One rank of a case (run by `mpirun`, not by `cargo test`).
#[test]
#[ignore = "a rank of the distributed cases, started by them under mpirun"]
fn rank_main() {
    let Ok(job) = std::env::var(CHILD) else { return };
    let (case, out) = job.split_once(':').unwrap();
    let mpi = Rc::new(Mpi::init().unwrap());
    let rank = mpi.world().rank();
    let bad = (case == "bad_rank").then_some(1);
    match train(if bad.is_some() { "mlp" } else { case }, Some(Rc::clone(&mpi)), bad) {
        Ok(values) if rank == 0 => {
            let text: Vec<String> = values.iter().map(|v| v.to_bits().to_string()).collect();
            std::fs::write(out, text.join(" ")).unwrap();
        }
        Ok(_) => {}
        Err(GradusError::Peer { code, .. }) => std::process::exit(code.into()),
        Err(e) => {
            eprintln!("rank {rank}: {e}");
            std::process::exit(e.exit_code().into());
        }
    }
}

fn same_as_one_process(case: &str, np: usize) {
    let out = scratch(&format!("{case}{np}"));
    let Some((status, text, _)) = mpirun(np, case, &out) else { return };
    assert!(status.success(), "mpirun -np {np} {case}: {text}");
    let (dist, one) = (read(&out), train(case, None, None).unwrap());
    assert_eq!(dist.len(), one.len());
    for (k, (a, b)) in dist.iter().zip(&one).enumerate() {
        assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0), "{case} on {np} ranks, value {k}: {a} vs {b}");
    }
}

#[test]
fn an_mlp_on_two_and_three_ranks_is_the_one_process_mlp() {
    same_as_one_process("mlp", 2);
    same_as_one_process("mlp", 3);
}

#[test]
fn a_cnn_with_synchronised_batch_norm_on_two_ranks_is_the_one_process_cnn() {
    same_as_one_process("cnn", 2);
    same_as_one_process("cnn", 3);
}

#[test]
fn dropout_masks_do_not_depend_on_the_split() {
    same_as_one_process("dropout", 2);
}

#[test]
fn a_rank_whose_data_fails_ends_every_rank_with_its_message() {
    let out = scratch("bad");
    let Some((status, text, took)) = mpirun(2, "bad_rank", &out) else { return };
    assert!(!status.success(), "{text}");
    assert!(text.contains("rank 1:") && text.contains("permission denied"), "{text}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(!out.exists());
}

/// A whole Fashion-MNIST epoch (469 steps of SGD with momentum, batch 128)
/// on two ranks in f64 ends within 1e-12 of one process: the ranks add no
/// error beyond summation order over a real run (in f32 the same epoch
/// ends visibly apart, as two f32 runs with any change of summation order
/// do; docs/distributed.md).
#[test]
fn a_fashion_mnist_epoch_in_f64_on_two_ranks_is_one_processs() {
    if gradus::data::mnist::load(gradus::data::mnist::Mnist::Fashion, None).is_err() {
        eprintln!("skipped: Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
        return;
    }
    let out = scratch("fmnist");
    let Some((status, text, _)) = mpirun(2, "fmnist", &out) else { return };
    assert!(status.success(), "{text}");
    let (dist, one) = (read(&out), train("fmnist", None, None).unwrap());
    assert_eq!(dist.len(), one.len());
    for (k, (a, b)) in dist.iter().zip(&one).enumerate() {
        assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0), "value {k}: {a} vs {b}");
    }
}
