//! Data-parallel training on this machine, measured in one run: `mpirun
//! -np 2` with one thread per rank against one process with one thread and
//! with two, for the MLP step, the CNN step and a Fashion-MNIST epoch
//! (MLP, batch 128), in alternating rounds (medians); then the ring
//! all-reduce cost model fitted to all-reduces of 4 B … 32 MB over TCP
//! loopback. Writes `distributed.md` and `distributed.json` into `--out`.
//!
//! Run by `cargo xtask bench` when mpirun is present; by hand:
//! `cargo run --release -p gradus-benches --features mpi --bin dist -- --out target/bench`.
//! With `--worker W` it is one process of one configuration (started by
//! the orchestrating run, alone or under mpirun).

use gradus::data::{DataLoader, Dataset, Features, InMemory, Targets};
use gradus::loss::CrossEntropy;
use gradus::mpi::Mpi;
use gradus::optim::{Adam, AdamConfig, Optimizer};
use gradus::{BatchStats, Loaders, Trainer};
use gradus_benches::workloads::{cnn, fashion_mnist_train, mlp};
use std::process::Command;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

/// Steps of a step workload: the first two are warm-up.
const STEPS: usize = 42;

fn random_images(n: usize) -> Arc<dyn Dataset> {
    let features: Vec<u8> = (0..n * 784).map(|i| ((i * 7919) % 251) as u8).collect();
    let targets = (0..n).map(|i| (i * 7) % 10).collect();
    Arc::new(InMemory::new(Features::U8(features), vec![784], Targets::Classes(targets)).expect("consistent"))
}

/// One process of a configuration: prints `seconds_per_step comm_seconds_per_step` (rank 0).
fn worker(which: &str) {
    let mpi = gradus::dist::launched().filter(|l| l.size > 1).map(|_| Rc::new(Mpi::init().expect("MPI starts once")));
    let (rank, size) = mpi.as_ref().map_or((0, 1), |m| (m.world().rank(), m.world().size()));
    if which == "allreduce" {
        allreduce(mpi.as_ref().expect("under mpirun"));
        return;
    }
    let (model, data, image) = match which {
        "mlp_step_b128" => (mlp(), random_images(128 * STEPS), false),
        "cnn_step_b128" => (cnn(), random_images(128 * STEPS), true),
        _ => (mlp(), fashion_mnist_train().expect("Fashion-MNIST installed"), false),
    };
    let data: Arc<dyn Dataset> = if image {
        Arc::new(gradus::data::transforms::reshape(Arc::new(gradus::data::transforms::scale_u8(data)), vec![1, 28, 28]))
    } else if which == "epoch_fashion_mnist" {
        data
    } else {
        Arc::new(gradus::data::transforms::scale_u8(data))
    };
    let mut trainer = Trainer::new(Optimizer::new(Adam::new(AdamConfig::default()).expect("defaults")));
    if let Some(m) = &mpi {
        trainer = trainer.replicated(Rc::clone(m) as Rc<dyn gradus::Replicas<f32>>, BatchStats::Global);
    }
    let train = DataLoader::new(Arc::clone(&data), 128).shuffle(0).shard(rank, size);
    let tiny =
        DataLoader::new(Arc::new(gradus::data::Subset::new(data, vec![0, 1]).expect("in range")), 2).shard(rank, size);
    let mut times = Vec::new();
    let mut last = Instant::now();
    let start = Instant::now();
    trainer
        .epoch_with(
            &model,
            &CrossEntropy::default(),
            &Loaders { train: &train, monitor: &tiny, test: &tiny },
            &mut |_, _, _| {
                times.push(last.elapsed().as_secs_f64());
                last = Instant::now();
            },
        )
        .expect("a valid epoch");
    let total = start.elapsed().as_secs_f64();
    let comm = trainer.communication().as_secs_f64();
    if rank == 0 {
        if which == "epoch_fashion_mnist" {
            println!("{total} {comm}");
        } else {
            let mut steady = times[2..].to_vec();
            steady.sort_by(f64::total_cmp);
            let n = times.len() as f64;
            println!("{} {}", steady[steady.len() / 2], comm / n);
        }
    }
}

/// Times all-reduces (sum) of 1 … 8 M f32 values: `bytes seconds` lines.
fn allreduce(mpi: &Mpi) {
    let w = mpi.world();
    for p in (0..=23).step_by(2) {
        let n = 1usize << p;
        let mut v = vec![1.0f32; n];
        let reps = (1 << 22) / n.max(1 << 12) + 3;
        let mut t = Vec::new();
        for _ in 0..reps {
            w.barrier();
            let s = Instant::now();
            w.sum(&mut v);
            t.push(s.elapsed().as_secs_f64());
        }
        t.sort_by(f64::total_cmp);
        if w.rank() == 0 {
            println!("{} {}", n * 4, t[t.len() / 2]);
        }
    }
}

/// The three configurations of one workload: (label, command).
fn configurations(exe: &str, which: &str) -> Vec<(&'static str, Command)> {
    let mut out = Vec::new();
    let mut mpirun = gradus::dist::loopback_mpirun(2);
    mpirun.args([exe, "--worker", which]).env("RAYON_NUM_THREADS", "1");
    out.push(("mpirun -np 2, 1 thread each", mpirun));
    for threads in ["1", "2"] {
        let mut c = Command::new(exe);
        c.args(["--worker", which]).env("RAYON_NUM_THREADS", threads);
        out.push((if threads == "1" { "1 process, 1 thread" } else { "1 process, 2 threads" }, c));
    }
    out
}

fn numbers(mut cmd: Command) -> Vec<f64> {
    let o = cmd.output().expect("runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).split_whitespace().map(|w| w.parse().expect("a number")).collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--worker") {
        worker(&args[i + 1]);
        return;
    }
    let out = args.iter().position(|a| a == "--out").map_or("target/bench".into(), |i| args[i + 1].clone());
    let rounds: usize = args.iter().position(|a| a == "--rounds").map_or(5, |i| args[i + 1].parse().expect("a count"));
    let exe = std::env::current_exe().expect("this binary").display().to_string();
    let mut md = String::from(
        "# Data-parallel training on this machine\n\nMedians of alternating rounds; samples/s of the global batch (128); efficiency = samples/s of 2 ranks ÷ (2 × samples/s of 1 process, 1 thread); comm = the share of a step spent in gradient communication calls (rank 0).\n\n| workload | configuration | s/step (epoch: s) | samples/s | vs 1 thread | comm share |\n|---|---|---|---|---|---|\n",
    );
    let mut json = Vec::new();
    for which in ["mlp_step_b128", "cnn_step_b128", "epoch_fashion_mnist"] {
        let labels: Vec<&str> = configurations(&exe, which).iter().map(|(l, _)| *l).collect();
        let mut samples: Vec<Vec<(f64, f64)>> = vec![Vec::new(); labels.len()];
        for _ in 0..rounds {
            for (k, (_, cmd)) in configurations(&exe, which).into_iter().enumerate() {
                let v = numbers(cmd);
                samples[k].push((v[0], v[1]));
            }
        }
        let per = if which == "epoch_fashion_mnist" { 60000.0 } else { 128.0 };
        let t: Vec<f64> = samples.iter().map(|s| median(s.iter().map(|x| x.0).collect())).collect();
        let c: Vec<f64> = samples.iter().map(|s| median(s.iter().map(|x| x.1).collect())).collect();
        for k in 0..labels.len() {
            let rate = per / t[k];
            let vs = t[1] / t[k];
            let share = c[k] / t[k];
            md.push_str(&format!(
                "| {which} | {} | {:.5} | {:.0} | {:.2}× | {:.1}% |\n",
                labels[k],
                t[k],
                rate,
                vs,
                100.0 * share
            ));
            json.push(format!(
                "{{\"workload\":\"{which}\",\"configuration\":\"{}\",\"seconds\":{},\"samples_per_s\":{rate},\"speedup\":{vs},\"comm_share\":{share}}}",
                labels[k], t[k]
            ));
        }
        md.push_str(&format!("| {which} | scaling efficiency, 2 ranks | | | {:.0}% | |\n", 100.0 * t[1] / t[0] / 2.0));
    }
    // The cost model: t(bytes) = 2(N−1)α + 2(N−1)/N · bytes/B, N = 2.
    let mut cmd = gradus::dist::loopback_mpirun(2);
    cmd.args([exe.as_str(), "--worker", "allreduce"]);
    let v = numbers(cmd);
    let pts: Vec<(f64, f64)> = v.chunks(2).map(|p| (p[0], p[1])).collect();
    // Least squares in relative error, so that the microsecond latencies of
    // small messages weigh as much as the milliseconds of large ones:
    // minimise Σ ((2α + bytes·s)/t − 1)² over α and s = 1/B.
    let rows: Vec<[f64; 2]> = pts.iter().map(|&(x, t)| [2.0 / t, x / t]).collect();
    let (a11, a12, a22) =
        rows.iter().fold((0.0, 0.0, 0.0), |(a, b, c), r| (a + r[0] * r[0], b + r[0] * r[1], c + r[1] * r[1]));
    let (b1, b2) = rows.iter().fold((0.0, 0.0), |(a, b), r| (a + r[0], b + r[1]));
    let det = a11 * a22 - a12 * a12;
    let (alpha, slope) = ((b1 * a22 - b2 * a12) / det, (a11 * b2 - a12 * b1) / det);
    let bandwidth = 1.0 / slope;
    let worst = pts.iter().map(|&(x, t)| ((2.0 * alpha + x * slope) / t - 1.0).abs()).fold(0.0, f64::max);
    md.push_str(&format!(
        "\n## All-reduce over TCP loopback (2 ranks)\n\n| bytes | seconds |\n|---|---|\n{}\n\nFit of t = 2(N−1)α + 2(N−1)/N · bytes/B at N = 2 (least squares in relative error): α = {:.2} µs, B = {:.3} GB/s; the worst point is off by {:.0}%.\n",
        pts.iter().map(|p| format!("| {} | {:.3e} |", p.0, p.1)).collect::<Vec<_>>().join("\n"),
        alpha * 1e6,
        bandwidth / 1e9,
        100.0 * worst
    ));
    // Predictions: one step per node at batch 128 each (weak scaling), the
    // compute time of one process with one thread measured above, the
    // gradient of each model in one all-reduce (both fit DDP's first bucket).
    let step_of = |w: &str| {
        json.iter()
            .find(|j| j.contains(w) && j.contains("1 process, 1 thread"))
            .and_then(|j| j.split("\"seconds\":").nth(1)?.split(',').next()?.parse::<f64>().ok())
    };
    let size_of = |m: gradus::nn::Sequential<f32>| {
        use gradus::nn::Module;
        m.named_parameters().iter().map(|(_, p)| p.numel()).sum::<usize>() as f64 * 4.0
    };
    md.push_str("\n## What the model predicts\n\nα as fitted (software latency; a real network adds its wire latency), B = 1.25 GB/s (10 Gb/s) or 12.5 GB/s (100 Gb/s); compute = one step at batch 128 on one thread, as measured above.\n\n| model | gradient | compute | nodes | 10 Gb/s: all-reduce | share of step | 100 Gb/s: all-reduce | share of step |\n|---|---|---|---|---|---|---|---|\n");
    for (name, bytes) in [("mlp_step_b128", size_of(mlp())), ("cnn_step_b128", size_of(cnn()))] {
        let compute = step_of(name).unwrap_or(f64::NAN);
        for nodes in [8.0f64, 64.0, 256.0] {
            let t = |b: f64| 2.0 * (nodes - 1.0) * alpha + 2.0 * (nodes - 1.0) / nodes * bytes / b;
            let (t10, t100) = (t(1.25e9), t(12.5e9));
            md.push_str(&format!(
                "| {name} | {:.2} MB | {:.2} ms | {nodes} | {:.2} ms | {:.0}% | {:.2} ms | {:.0}% |\n",
                bytes / 1e6,
                compute * 1e3,
                t10 * 1e3,
                100.0 * t10 / (t10 + compute),
                t100 * 1e3,
                100.0 * t100 / (t100 + compute)
            ));
        }
    }
    json.push(format!("{{\"allreduce_alpha_s\":{alpha},\"allreduce_bandwidth_bytes_per_s\":{bandwidth}}}"));
    std::fs::create_dir_all(&out).expect("output directory");
    std::fs::write(format!("{out}/distributed.md"), &md).expect("written");
    std::fs::write(format!("{out}/distributed.json"), format!("[{}]\n", json.join(",\n"))).expect("written");
    print!("{md}");
}
