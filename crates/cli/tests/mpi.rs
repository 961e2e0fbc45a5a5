//! `mpirun -np N gradus train …` over TCP loopback: the same run as one
//! process, resumable bit for bit, with bad input refused once. Needs the
//! `mpi` feature and `mpirun` (skipped, saying so, without it).
#![cfg(feature = "mpi")]

mod common;
use common::{fake_mnist, gradus, run, scratch};
use gradus::nn::Checkpoint;
use std::path::Path;

/// `mpirun -np N gradus args…` with the TCP transport on loopback, one
/// thread per rank; `None` (skipped) without mpirun.
fn mpirun(np: usize, args: &[&str]) -> Option<(i32, String, String)> {
    if !gradus::dist::has_mpirun() {
        eprintln!("skipped: no mpirun on PATH (install openmpi-bin)");
        return None;
    }
    let mut cmd = gradus::dist::loopback_mpirun(np);
    cmd.arg(env!("CARGO_BIN_EXE_gradus")).args(args).env("RAYON_NUM_THREADS", "1");
    Some(run(cmd, &format!("mpirun -np {np} gradus {args:?}")))
}

fn tensors(dir: &Path) -> Vec<(String, Vec<f64>)> {
    let ck = Checkpoint::load(dir.join("checkpoint.safetensors")).unwrap();
    let mut names: Vec<String> = ck.names().map(str::to_string).collect();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let values = match ck.describe(&n).unwrap().1.as_str() {
                "F32" => ck.get::<f32>(&n).unwrap().to_vec().into_iter().map(f64::from).collect(),
                _ => ck.get_u64(&n).unwrap().into_iter().map(|v| v as f64).collect(),
            };
            (n, values)
        })
        .collect()
}

fn train_args<'a>(data: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec!["train", "--data-dir", data, "--out", out, "--seed", "4"];
    if !extra.contains(&"--batch-size") {
        a.extend(["--batch-size", "20"]);
    }
    a.extend_from_slice(extra);
    a
}

#[test]
fn two_ranks_train_the_one_process_model() {
    let data = fake_mnist();
    let dir = scratch("mpi-same");
    let (one, two) = (dir.join("one"), dir.join("two"));
    let data = data.to_str().unwrap();
    // A CNN with batch norm (synchronised) and dropout, two epochs.
    let model =
        "seq(conv2d(1, 4, 5, stride=3, bias=false), batchnorm2d(4), relu, flatten, dropout(0.2), linear(256, 10))";
    let extra = ["--epochs", "2", "--model", model, "--optimizer", "sgd(lr=0.05, momentum=0.9)"];
    let Some((code, out, err)) = mpirun(2, &train_args(data, two.to_str().unwrap(), &extra)) else { return };
    assert_eq!(code, 0, "{out}{err}");
    // Progress and the result come from rank 0 alone.
    assert_eq!(out.matches("wrote").count(), 1, "{out}");
    assert_eq!(err.matches("epoch 2/2").count(), 1, "{err}");
    let (code, _, err) = gradus(&train_args(data, one.to_str().unwrap(), &extra));
    assert_eq!(code, 0, "{err}");
    let (a, b) = (tensors(&one), tensors(&two));
    assert_eq!(a.len(), b.len());
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        for (u, v) in x.iter().zip(y) {
            assert!((u - v).abs() <= 1e-5 * u.abs().max(1.0), "{name}: {u} vs {v}");
        }
    }
    let ck = Checkpoint::load(two.join("checkpoint.safetensors")).unwrap();
    assert_eq!(ck.metadata("config.world_size"), Some("2"));
}

#[test]
fn a_resumed_run_is_the_uninterrupted_run_bit_for_bit() {
    let data = fake_mnist();
    let dir = scratch("mpi-resume");
    let data = data.to_str().unwrap();
    let (straight, stopped) = (dir.join("straight"), dir.join("stopped"));
    let model = ["--model", "mlp(784, 16, 10, dropout=0.3)"];
    let args = |out: &Path, epochs: &'static str, resume: bool| {
        let mut extra = vec!["--epochs", epochs, model[0], model[1]];
        if resume {
            extra.push("--resume");
        }
        train_args(data, out.to_str().unwrap(), &extra).into_iter().map(str::to_string).collect::<Vec<_>>()
    };
    let go = |np: usize, a: Vec<String>| {
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        mpirun(np, &a)
    };
    let Some((code, _, err)) = go(2, args(&straight, "3", false)) else { return };
    assert_eq!(code, 0, "{err}");
    assert_eq!(go(2, args(&stopped, "1", false)).unwrap().0, 0);
    let (code, _, err) = go(2, args(&stopped, "3", true)).unwrap();
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("resuming a run of"), "{err}");
    assert_eq!(tensors(&straight), tensors(&stopped));
    // On another number of processes: allowed, and said.
    let other = dir.join("other");
    assert_eq!(go(2, args(&other, "1", false)).unwrap().0, 0);
    let (code, _, err) = go(4, args(&other, "2", true)).unwrap();
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("resuming a run of 2 process(es) on 4"), "{err}");
}

#[test]
fn bad_input_is_refused_once_with_exit_2() {
    let data = fake_mnist();
    let dir = scratch("mpi-bad");
    let (data, out) = (data.to_str().unwrap(), dir.join("run"));
    let out = out.to_str().unwrap();
    let Some((code, _, err)) = mpirun(3, &train_args(data, out, &["--batch-size", "20"])) else { return };
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.matches("must be divisible by the 3 processes").count(), 1, "{err}");
    // 200 examples in batches of 66: a last batch of 2 for 3 processes.
    let (code, _, err) = mpirun(3, &train_args(data, out, &["--batch-size", "66"])).unwrap();
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("fewer than the 3 processes"), "{err}");
    // Batch norm with statistics of each process's own shard: a shard of
    // one example is refused, a last batch that leaves one is dropped.
    let bn = ["--model", "mlp(784, 16, 10, batch_norm=true)", "--batch-stats", "local", "--epochs", "1"];
    let (code, _, err) = mpirun(2, &train_args(data, out, &[&bn[..], &["--batch-size", "2"]].concat())).unwrap();
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.matches("BatchNorm1d(16) in training needs").count(), 1, "{err}");
    let (code, _, err) = mpirun(2, &train_args(data, out, &[&bn[..], &["--batch-size", "66"]].concat())).unwrap();
    assert_eq!(code, 0, "{err}");
    assert_eq!(err.matches("the last batch of each epoch (2 of 200 examples) is left out").count(), 1, "{err}");
    // With the statistics of the whole batch, those two examples are a batch.
    let global = ["--overwrite", "--batch-stats", "global", "--batch-size", "66"];
    let (code, _, err) =
        mpirun(2, &train_args(data, out, &[&bn[..2], &global[..], &["--epochs", "1"]].concat())).unwrap();
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("is left out"), "{err}");
    let (code, _, err) = mpirun(2, &train_args(data, out, &["--model", "mlp(784, 10"])).unwrap();
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = mpirun(2, &["schedule", "step(step_size=2)", "--lr", "0.1", "--steps", "3"]).unwrap();
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.matches("only `gradus train` and `gradus compare`").count(), 1, "{err}");
    let (code, _, err) = mpirun(2, &["train", "--no-such-flag"]).unwrap();
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.matches("--no-such-flag").count(), 1, "{err}");
}

#[test]
fn a_diverged_run_ends_every_rank_with_exit_3() {
    let data = fake_mnist();
    let dir = scratch("mpi-diverge");
    let (data, out) = (data.to_str().unwrap(), dir.join("run"));
    let args = train_args(data, out.to_str().unwrap(), &["--optimizer", "sgd(lr=1e30)", "--epochs", "2"]);
    let Some((code, _, err)) = mpirun(2, &args) else { return };
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("diverged"), "{err}");
}
