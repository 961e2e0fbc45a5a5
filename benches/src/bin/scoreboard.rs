//! The scoreboard of `cargo xtask bench`: each workload of
//! `gradus_benches::workloads` timed in its own process for gradus, then
//! for PyTorch (benches/peers/torch_workloads.py) right after, with the
//! same thread count pinned on both sides (all cores, then 1), and written
//! as `report.md` and `report.json` under the output directory.
//!
//! `scoreboard [--quick] [--rounds N] [--filter S[,S…]] [--out DIR]` (a
//! filter that is a workload's name selects it alone, any other every
//! workload whose name contains it);
//! `scoreboard --child NAME --reps N --iterations K [--versus OTHER]` runs
//! one workload (and, with `--versus`, another in the same process, their
//! timed runs alternating) and prints the protocol lines of
//! `Measurement::to_lines` (the second workload's after a `versus` line).

use gradus_benches::Measurement;
use gradus_benches::workloads::{self, Spec};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if args.first().map(String::as_str) == Some("--child") { child(&args[1..]) } else { board(&args) };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scoreboard: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `--child NAME --reps N --iterations K`: build, warm up, time, print.
fn child(args: &[String]) -> Result<(), String> {
    let name = args.first().ok_or("--child needs a workload name")?;
    let number = |key: &str| -> Result<usize, String> {
        let i = args.iter().position(|a| a == key).ok_or(format!("--child needs {key}"))?;
        let v = args.get(i + 1).ok_or(format!("{key} needs a value"))?;
        v.parse().map_err(|_| format!("{key}: `{v}` is not a count"))
    };
    let (reps, iterations) = (number("--reps")?, number("--iterations")?);
    // As the command line trains: this thread is one of the pool's.
    gradus_tensor::init_threads(0).map_err(|e| e.to_string())?;
    let build =
        |name: &str| workloads::build(name).map_err(|e| e.to_string())?.ok_or(format!("unknown workload `{name}`"));
    let mut run = build(name)?;
    match args.iter().position(|a| a == "--versus") {
        None => print!("{}", Measurement::take(&mut run, reps, iterations).to_lines()),
        Some(i) => {
            let mut other = build(args.get(i + 1).ok_or("--versus needs a workload name")?)?;
            let (ours, theirs) = Measurement::take_alternating(&mut run, Some(&mut other), reps, iterations);
            print!("{}versus\n{}", ours.to_lines(), theirs.expect("two workloads").to_lines());
        }
    }
    Ok(())
}

/// Processes per side and workload in a full run (1 with `--quick`),
/// alternating gradus and the peer.
const ROUNDS: usize = 5;

struct Options {
    quick: bool,
    /// Processes per side and workload, when not the default.
    rounds: Option<usize>,
    /// Workloads whose names contain one of these.
    filter: Option<Vec<String>>,
    out: PathBuf,
}

fn options(args: &[String]) -> Result<Options, String> {
    let mut o = Options { quick: false, rounds: None, filter: None, out: PathBuf::from("target/bench") };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => o.quick = true,
            "--filter" => {
                o.filter = Some(it.next().ok_or("--filter needs a value")?.split(',').map(str::to_string).collect());
            }
            "--rounds" => {
                let v = it.next().ok_or("--rounds needs a count")?;
                match v.parse() {
                    Ok(n) if n > 0 => o.rounds = Some(n),
                    _ => return Err(format!("--rounds: `{v}` is not a positive count")),
                }
            }
            "--out" => o.out = PathBuf::from(it.next().ok_or("--out needs a directory")?),
            other => {
                return Err(format!(
                    "unknown argument `{other}`; accepted: --quick, --rounds N, --filter S[,S…], --out DIR"
                ));
            }
        }
    }
    Ok(o)
}

/// One row of the report: a workload at a thread count, gradus and its peer.
struct Row {
    spec: Spec,
    threads: usize,
    gradus: Measurement,
    peer: Option<(&'static str, Measurement)>,
    /// gradus / peer of each round's two neighbouring runs: their spread
    /// shows how far the machine's drift moves the ratio.
    round_ratios: Vec<f64>,
}

impl Row {
    /// The name in report.json: the workload's own at all cores, `@1t`
    /// appended at one thread, `_vs_faer` for the faer comparison.
    fn key(&self, all: usize) -> String {
        let mut k = self.spec.name.to_string();
        if matches!(self.peer, Some(("faer", _))) {
            k.push_str("_vs_faer");
        }
        if self.threads != all {
            write!(k, "@{}t", self.threads).expect("a String");
        }
        k
    }

    fn ratio(&self) -> Option<f64> {
        self.peer.as_ref().map(|(_, p)| self.gradus.median() / p.median())
    }
}

fn board(args: &[String]) -> Result<(), String> {
    let o = options(args)?;
    let all = std::thread::available_parallelism().map_or(1, usize::from);
    let torch = find_torch();
    let data = gradus::data::mnist::locate(gradus::data::mnist::Mnist::Fashion, None).ok();
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    match &torch {
        Some((python, version)) => eprintln!("scoreboard: PyTorch {version} from {}", python.display()),
        None => notes.push(
            "No Python with torch found (set GRADUS_TORCH_PYTHON or make `python3` import torch): gradus alone.".into(),
        ),
    }
    for spec in workloads::ALL {
        // A filter that names a workload selects that one alone; any other
        // selects every workload whose name contains it.
        let selects = |f: &String| {
            spec.name == f || (!workloads::ALL.iter().any(|w| w.name == f) && spec.name.contains(f.as_str()))
        };
        if o.filter.as_ref().is_some_and(|f| !f.iter().any(selects)) {
            continue;
        }
        if spec.name.contains("epoch_fashion_mnist") && data.is_none() {
            notes.push(format!(
                "{} skipped: Fashion-MNIST not found (apt-get install dataset-fashion-mnist).",
                spec.name
            ));
            continue;
        }
        let reps = if o.quick { spec.reps.1 } else { spec.reps.0 };
        let mut threads = vec![all];
        if all > 1 {
            threads.push(1);
        }
        let rounds = o.rounds.unwrap_or(if o.quick { 1 } else { ROUNDS });
        let per_round = reps.div_ceil(rounds);
        for t in threads {
            eprintln!("scoreboard: {} on {t} thread(s)", spec.name);
            // Rounds alternate the sides, so a slow stretch of the shared
            // machine lands on both rather than on one.
            // faer alone (against the product through gradus) joins the same rounds.
            // faer alone (against the product through gradus) runs in gradus's
            // process, its timed runs alternating with gradus's: two Rust
            // codes on one machine, compared at the same moments.
            let versus = (spec.name == "matmul_1024").then_some("matmul_1024_faer");
            let (mut ours, mut theirs, mut faer) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..rounds {
                let (g, f) = run_gradus_versus(spec.name, versus, per_round, spec.iterations, t)?;
                ours.push(g);
                faer.extend(f);
                if let Some((python, _)) = &torch
                    && let Some(m) = run_torch(python, spec.name, per_round, spec.iterations, t, data.as_deref())?
                {
                    theirs.push(m);
                }
            }
            let round_ratios = ours.iter().zip(&theirs).map(|(g, p)| g.median() / p.median()).collect();
            let gradus = Measurement::merge(&ours);
            let peer = (!theirs.is_empty()).then(|| ("pytorch", Measurement::merge(&theirs)));
            rows.push(Row { spec, threads: t, gradus: gradus.clone(), peer, round_ratios });
            if spec.name == "matmul_1024" {
                let row = rows.last().expect("pushed");
                if let Some((_, peer)) = &row.peer {
                    let rate = |m: &Measurement| 2.0 * 1024f64.powi(3) / m.median() / 1e9;
                    notes.push(format!(
                        "matmul_1024 on {t} thread(s): gradus (faer) {:.0} GFLOP/s, PyTorch {:.0} GFLOP/s, a ratio of {:.2}: the libraries' products alone, of which the MLP steps mostly consist.",
                        rate(&row.gradus),
                        rate(peer),
                        row.gradus.median() / peer.median()
                    ));
                }
                let faer_ratios = ours.iter().zip(&faer).map(|(g, f)| g.median() / f.median()).collect();
                let faer = Measurement::merge(&faer);
                rows.push(Row { spec, threads: t, gradus, peer: Some(("faer", faer)), round_ratios: faer_ratios });
            }
            if let Some(flops) = workloads::flops(spec.name) {
                // The peak in the same run, on as many threads, beside the
                // workload's rate on each side.
                // The fastest of its runs: a peak is what the cores reach when
                // nothing else on the shared machine holds them back.
                let peak = run_gradus("fma_peak", 10, 1, t)?;
                let fastest = peak.times.iter().copied().fold(f64::INFINITY, f64::min);
                let peak = gradus_benches::peak::flops_per_thread() * t as f64 / fastest / 1e9;
                let row = rows.iter().rev().find(|r| r.spec.name == spec.name && r.threads == t).expect("pushed");
                let rate = |m: &Measurement| flops / m.median() / 1e9;
                let peer = row.peer.as_ref().map_or(String::new(), |(name, m)| {
                    format!(", {name} {:.1} GFLOP/s ({:.0}% of peak)", rate(m), 100.0 * rate(m) / peak)
                });
                notes.push(format!(
                    "{} on {t} thread(s): gradus {:.1} GFLOP/s ({:.0}% of the {peak:.0} GFLOP/s f32 FMA peak measured in this run){peer}.",
                    spec.name,
                    rate(&row.gradus),
                    100.0 * rate(&row.gradus) / peak
                ));
            }
            if spec.name == "adam_10m" {
                let probe = run_gradus("stream_10m", reps, 1, t)?;
                let (adam, stream) = (28e7 / rows.last().expect("pushed").gradus.median(), 12e7 / probe.median());
                notes.push(format!(
                    "adam_10m on {t} thread(s): {:.1} GB/s (28 bytes per parameter), {:.2} of the {:.1} GB/s that a += 3·c over 10M f32 (12 bytes per element, in place as Adam's state) moves in the same run.",
                    adam / 1e9,
                    adam / stream,
                    stream / 1e9
                ));
            }
        }
    }
    std::fs::create_dir_all(&o.out).map_err(|e| format!("{}: {e}", o.out.display()))?;
    let rounds = match (o.rounds, o.quick) {
        (Some(n), true) => format!("{n} (--quick reps)"),
        (Some(n), false) => n.to_string(),
        (None, true) => "1 (--quick)".to_string(),
        (None, false) => ROUNDS.to_string(),
    };
    let md = markdown(&rows, all, torch.as_ref().map(|(_, v)| v.as_str()), &notes, &rounds);
    let json = json(&rows, all);
    write(&o.out.join("report.md"), &md)?;
    write(&o.out.join("report.json"), &json)?;
    println!("{md}");
    eprintln!("scoreboard: wrote {} and report.json", o.out.join("report.md").display());
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn run_gradus(name: &str, reps: usize, iterations: usize, threads: usize) -> Result<Measurement, String> {
    Ok(run_gradus_versus(name, None, reps, iterations, threads)?.0)
}

/// `name` in a child process on `threads` threads, and `versus` in the same
/// process alternating with it.
fn run_gradus_versus(
    name: &str,
    versus: Option<&str>,
    reps: usize,
    iterations: usize,
    threads: usize,
) -> Result<(Measurement, Option<Measurement>), String> {
    let exe = std::env::current_exe().map_err(|e| format!("own executable: {e}"))?;
    let mut cmd = Command::new(exe);
    cmd.args(["--child", name, "--reps", &reps.to_string(), "--iterations", &iterations.to_string()]);
    if let Some(v) = versus {
        cmd.args(["--versus", v]);
    }
    let out = cmd.env("RAYON_NUM_THREADS", threads.to_string()).output().map_err(|e| format!("running {name}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{name} failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let (first, second) = match text.split_once("versus\n") {
        Some((a, b)) => (a, Some(b)),
        None => (&text[..], None),
    };
    let parse = |t: &str| Measurement::parse(t).map_err(|e| format!("{name}: {e}"));
    Ok((parse(first)?, second.map(parse).transpose()?))
}

/// The peer's measurement, or `None` when the script does not know the
/// workload (it exits with 3).
fn run_torch(
    python: &Path,
    name: &str,
    reps: usize,
    iterations: usize,
    threads: usize,
    data: Option<&Path>,
) -> Result<Option<Measurement>, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/torch_workloads.py");
    let mut cmd = Command::new(python);
    cmd.arg(&script).arg(name).args(["--reps", &reps.to_string(), "--threads", &threads.to_string()]);
    cmd.args(["--iterations", &iterations.to_string()]);
    if let Some(d) = data {
        cmd.arg("--data").arg(d);
    }
    // The same pinning as gradus's side: intra-op threads, and no oversubscription by OpenMP/MKL.
    for var in ["OMP_NUM_THREADS", "MKL_NUM_THREADS"] {
        cmd.env(var, threads.to_string());
    }
    // PyTorch's allocator puts buffers of 2 MiB and more on transparent huge
    // pages only when asked; gradus does it for its buffers of 4 MiB and more.
    cmd.env("THP_MEM_ALLOC_ENABLE", "1");
    let out = cmd.output().map_err(|e| format!("running {}: {e}", python.display()))?;
    if out.status.code() == Some(3) {
        return Ok(None);
    }
    if !out.status.success() {
        return Err(format!("PyTorch {name} failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Measurement::parse(&String::from_utf8_lossy(&out.stdout)).map(Some).map_err(|e| format!("PyTorch {name}: {e}"))
}

/// `$GRADUS_TORCH_PYTHON`, else `python3` if it imports torch; with
/// torch's version.
fn find_torch() -> Option<(PathBuf, String)> {
    let candidates = match std::env::var_os("GRADUS_TORCH_PYTHON") {
        Some(p) => vec![PathBuf::from(p)],
        None => vec![PathBuf::from("python3")],
    };
    candidates.into_iter().find_map(|python| {
        let out = Command::new(&python).args(["-c", "import torch; print(torch.__version__)"]).output().ok()?;
        let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        (out.status.success() && !version.is_empty()).then_some((python, version))
    })
}

/// A time in the unit that suits it.
fn time(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.3} s")
    } else if s >= 1e-3 {
        format!("{:.3} ms", s * 1e3)
    } else {
        format!("{:.2} µs", s * 1e6)
    }
}

fn spread(m: &Measurement) -> String {
    let (lo, hi) = m.quartiles();
    format!("{}–{}", time(lo), time(hi))
}

/// The targets: (row key, the largest acceptable ratio).
const TARGETS: [(&str, f64); 14] = [
    ("mlp_step_b128", 0.5),
    ("mlp_step_b32", 0.5),
    ("mlp_step_b512", 0.8),
    ("tanh_mlp_step_b128", 0.5),
    ("softmax_ce_512x1000", 0.5),
    ("himmelblau_step", 0.03),
    ("adam_10m", 1.0),
    ("epoch_fashion_mnist", 0.55),
    ("matmul_1024_vs_faer", 1.05),
    ("matmul_1024_vs_faer@1t", 1.05),
    ("cnn_step_b128", 0.8),
    ("cnn_step_b128@1t", 0.8),
    ("conv2d_fwd_bwd", 1.0),
    ("cnn_epoch_fashion_mnist", 0.8),
];

fn markdown(rows: &[Row], all: usize, torch: Option<&str>, notes: &[String], rounds: &str) -> String {
    let mut s = String::from("# gradus benchmark report\n\n");
    let _ = writeln!(s, "- date: {} (UTC)", today());
    let _ = writeln!(s, "- machine: {}", machine());
    let _ = writeln!(s, "- gradus: {}; {}", env!("CARGO_PKG_VERSION"), rustc());
    let _ = writeln!(s, "- peer: {}", torch.map_or("none".to_string(), |v| format!("PyTorch {v} eager, fused Adam")));
    let _ = writeln!(
        s,
        "- method: each workload in fresh processes, {} per side, alternating gradus and the peer, \
         each with one warm-up run, then timed runs; medians of all timed runs with the interquartile range; \
         ratio = gradus / peer (below 1: gradus faster); rounds: the lowest and highest ratio of one round's neighbouring runs; \
         faer alone runs in gradus's process, its timed runs alternating with gradus's. \
         Busy threads: each side's pool size and its CPU seconds per wall second over the timed runs (gradus / peer). \
         Threads pinned alike (RAYON_NUM_THREADS; torch.set_num_threads, OMP_NUM_THREADS); \
         large buffers on transparent huge pages on both sides (gradus by default; PyTorch with THP_MEM_ALLOC_ENABLE=1).\n",
        rounds
    );
    s.push_str(
        "| workload | threads | gradus median | gradus IQR | peer | peer median | peer IQR | ratio | rounds | target | busy threads |\n",
    );
    s.push_str("|---|---|---|---|---|---|---|---|---|---|---|\n");
    for r in rows {
        let key = r.key(all);
        let target = TARGETS.iter().find(|(k, _)| *k == key).map(|(_, t)| *t);
        let verdict = match (r.ratio(), target) {
            (Some(x), Some(t)) => format!("≤ {t} {}", if x <= t { "met" } else { "**missed**" }),
            _ => String::new(),
        };
        let (peer, pm, pi) = match &r.peer {
            Some((name, m)) => (name.to_string(), time(m.median()), spread(m)),
            None => ("—".into(), "—".into(), "—".into()),
        };
        let ratio = r.ratio().map_or("—".into(), |x| format!("{x:.3}"));
        let rounds =
            match (r.round_ratios.iter().copied().reduce(f64::min), r.round_ratios.iter().copied().reduce(f64::max)) {
                (Some(lo), Some(hi)) => format!("{lo:.2}–{hi:.2}"),
                _ => "—".into(),
            };
        let busy = match &r.peer {
            Some((_, p)) => format!("{} / {}", busy(&r.gradus, r.threads), busy(p, r.threads)),
            None => busy(&r.gradus, r.threads),
        };
        let _ = writeln!(
            s,
            "| {key} | {} | {} | {} | {peer} | {pm} | {pi} | {ratio} | {rounds} | {verdict} | {busy} |",
            r.threads,
            time(r.gradus.median()),
            spread(&r.gradus)
        );
    }
    s.push_str("\n## Memory\n\nPeak resident memory of each workload's process, and minor page faults per iteration of the timed runs (a fresh page costs ~1.6 µs here).\n\n");
    s.push_str("| workload | threads | gradus peak RSS | peer peak RSS | RSS ratio | gradus faults/iter | peer faults/iter |\n");
    s.push_str("|---|---|---|---|---|---|---|\n");
    for r in rows.iter().filter(|r| !matches!(r.peer, Some(("faer", _)))) {
        let mib = |k: u64| format!("{:.1} MiB", k as f64 / 1024.0);
        let (prss, pratio, pfaults) = match &r.peer {
            Some((_, p)) => (
                mib(p.peak_rss_kib),
                format!("{:.3}", r.gradus.peak_rss_kib as f64 / p.peak_rss_kib.max(1) as f64),
                format!("{:.2}", p.faults_per_iteration),
            ),
            None => ("—".into(), "—".into(), "—".into()),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {prss} | {pratio} | {:.2} | {pfaults} |",
            r.spec.name,
            r.threads,
            mib(r.gradus.peak_rss_kib),
            r.gradus.faults_per_iteration
        );
    }
    s.push_str("\n## Workloads\n\n");
    let mut seen = Vec::new();
    for r in rows {
        if !seen.contains(&r.spec.name) {
            seen.push(r.spec.name);
            let _ = writeln!(s, "- `{}`: {}.", r.spec.name, r.spec.what);
        }
    }
    if !notes.is_empty() {
        s.push_str("\n## Notes\n\n");
        for n in notes {
            let _ = writeln!(s, "- {n}");
        }
    }
    s
}

/// The threads a side's process had and its CPU seconds per wall second
/// over the timed runs (the threads busy on average), flagged where the
/// process had other threads than its row says or kept clearly more busy.
fn busy(m: &Measurement, row_threads: usize) -> String {
    if m.threads == 0 {
        return "—".into();
    }
    // CPU accounting overshoots a little (PyTorch's 2-thread rows read up
    // to 2.11 on 2 cores), and PyTorch keeps helper threads; a row that
    // ran on twice its threads reads about twice.
    let busier = m.cpu_per_wall > row_threads as f64 * 1.15 + 0.1;
    let flag = if m.threads != row_threads || busier { " **not as the row says**" } else { "" };
    format!("{}: {:.2}{flag}", m.threads, m.cpu_per_wall)
}

fn json(rows: &[Row], all: usize) -> String {
    let num = |x: Option<f64>| x.filter(|v| v.is_finite()).map_or("null".to_string(), |v| v.to_string());
    let items: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "  {{\"workload\": \"{}\", \"threads\": {}, \"gradus_median_s\": {}, \"peer\": {}, \"peer_median_s\": {}, \"ratio\": {}, \"gradus_peak_rss_kib\": {}, \"gradus_faults_per_iteration\": {}, \"gradus_threads\": {}, \"gradus_cpu_per_wall\": {}, \"peer_threads\": {}, \"peer_cpu_per_wall\": {}}}",
                r.key(all),
                r.threads,
                num(Some(r.gradus.median())),
                r.peer.as_ref().map_or("null".to_string(), |(n, _)| format!("\"{n}\"")),
                num(r.peer.as_ref().map(|(_, m)| m.median())),
                num(r.ratio()),
                r.gradus.peak_rss_kib,
                num(Some(r.gradus.faults_per_iteration)),
                r.gradus.threads,
                num(Some(r.gradus.cpu_per_wall)),
                r.peer.as_ref().map_or("null".to_string(), |(_, m)| m.threads.to_string()),
                num(r.peer.as_ref().map(|(_, m)| m.cpu_per_wall)),
            )
        })
        .collect();
    format!("[\n{}\n]\n", items.join(",\n"))
}

/// CPU model, core count and memory, from /proc.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpu
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map_or("unknown CPU", |m| m.trim_start_matches([' ', '\t', ':']));
    let mem = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kib: f64 = mem
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let core = core_design(&cpu).map_or(String::new(), |c| format!(" ({c})"));
    format!("{model}{core}, {cores} cores, {:.0} GiB", kib / 1024.0 / 1024.0)
}

/// The core design behind an AMD CPU's family number, which sets what
/// faer's AVX-512 kernels gain over the AVX2 code PyTorch's BLAS runs on
/// AMD: Zen 4 runs AVX-512 on 256-bit FMA units (32 f32 flops per cycle,
/// as AVX2), Zen 5 on 512-bit ones (64).
fn core_design(cpuinfo: &str) -> Option<String> {
    let field = |key: &str| {
        cpuinfo.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == key).then(|| v.trim().to_string())
        })
    };
    let family: u32 = field("cpu family")?.parse().ok()?;
    let model: u32 = field("model")?.parse().ok()?;
    let avx512 = field("flags").is_some_and(|f| f.split_whitespace().any(|x| x == "avx512f"));
    let design = match (field("vendor_id")?.as_str(), family) {
        ("AuthenticAMD", 26) => "Zen 5: AVX-512 on 512-bit FMA units",
        ("AuthenticAMD", 25) if avx512 => "Zen 4: AVX-512 on 256-bit FMA units",
        ("AuthenticAMD", 25) => "Zen 3",
        _ => "",
    };
    let sep = if design.is_empty() { "" } else { ", " };
    Some(format!("family {family} model {model}{sep}{design}"))
}

fn rustc() -> String {
    Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .arg("--version")
        .output()
        .ok()
        .map_or("rustc unknown".into(), |o| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

/// Today's date, YYYY-MM-DD, from the system clock (civil-from-days).
fn today() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::core_design;

    #[test]
    fn names_the_core_design_from_cpuinfo() {
        let genoa =
            "vendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 17\nflags\t\t: fpu avx2 avx512f avx512vl\n";
        assert_eq!(core_design(genoa).unwrap(), "family 25 model 17, Zen 4: AVX-512 on 256-bit FMA units");
        let turin = genoa.replace(": 25", ": 26").replace(": 17", ": 2");
        assert_eq!(core_design(&turin).unwrap(), "family 26 model 2, Zen 5: AVX-512 on 512-bit FMA units");
        let milan = genoa.replace(" avx512f avx512vl", "").replace(": 17", ": 1");
        assert_eq!(core_design(&milan).unwrap(), "family 25 model 1, Zen 3");
        let intel = genoa.replace("AuthenticAMD", "GenuineIntel").replace(": 25", ": 6");
        assert_eq!(core_design(&intel).unwrap(), "family 6 model 17");
        assert_eq!(core_design("model name : something"), None);
    }
}
