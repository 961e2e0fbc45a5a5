//! `cargo xtask bench`: the criterion suite (benches/), then the scoreboard
//! (gradus beside PyTorch, same workloads, same threads) that writes
//! `target/bench/report.md` and `target/bench/report.json`.
//!
//! Options: `--quick` (criterion's quick mode and fewer scoreboard runs),
//! `--filter S` (criterion's filter and a substring of workload names),
//! `--rounds N` (the scoreboard's alternating processes per side and
//! workload: 5 unless set, 1 with `--quick`),
//! `--scoreboard-only` / `--criterion-only`.

use std::path::Path;
use std::process::Command;

struct Options {
    quick: bool,
    filter: Option<String>,
    rounds: Option<String>,
    criterion: bool,
    scoreboard: bool,
}

fn options(args: &[String]) -> Result<Options, String> {
    let mut o = Options { quick: false, filter: None, rounds: None, criterion: true, scoreboard: true };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => o.quick = true,
            "--filter" => o.filter = Some(it.next().ok_or("--filter needs a value")?.clone()),
            "--rounds" => o.rounds = Some(it.next().ok_or("--rounds needs a count")?.clone()),
            "--scoreboard-only" => o.criterion = false,
            "--criterion-only" => o.scoreboard = false,
            other => {
                return Err(format!(
                    "bench: unknown argument `{other}`; accepted: --quick, --filter S, --rounds N, --scoreboard-only, --criterion-only"
                ));
            }
        }
    }
    Ok(o)
}

/// Runs the criterion benches, then the scoreboard.
pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let o = options(args)?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    if o.criterion {
        let mut cmd = Command::new(&cargo);
        cmd.current_dir(root).args(["bench", "-p", "gradus-benches", "--bench", "bench_main", "--"]);
        if o.quick {
            cmd.arg("--quick");
        }
        cmd.args(o.filter.as_deref());
        let status = cmd.status().map_err(|e| format!("could not run cargo: {e}"))?;
        if !status.success() {
            return Err(format!("criterion benches failed ({status})"));
        }
    }
    if o.scoreboard {
        let out = root.join("target/bench");
        let mut cmd = Command::new(&cargo);
        cmd.current_dir(root).args([
            "run",
            "--release",
            "--quiet",
            "-p",
            "gradus-benches",
            "--bin",
            "scoreboard",
            "--",
        ]);
        cmd.arg("--out").arg(&out);
        if o.quick {
            cmd.arg("--quick");
        }
        if let Some(f) = &o.filter {
            cmd.args(["--filter", f]);
        }
        if let Some(r) = &o.rounds {
            cmd.args(["--rounds", r]);
        }
        let status = cmd.status().map_err(|e| format!("could not run cargo: {e}"))?;
        if !status.success() {
            return Err(format!("scoreboard failed ({status})"));
        }
        // Data-parallel workloads where MPI is present: mpirun -np 2 beside
        // one process, and the all-reduce cost model.
        if crate::has_mpirun() {
            let mut cmd = Command::new(&cargo);
            cmd.current_dir(root)
                .args([
                    "run",
                    "--release",
                    "--quiet",
                    "-p",
                    "gradus-benches",
                    "--features",
                    "mpi",
                    "--bin",
                    "dist",
                    "--",
                ])
                .arg("--out")
                .arg(&out)
                .args(["--rounds", if o.quick { "3" } else { "5" }]);
            let status = cmd.status().map_err(|e| format!("could not run cargo: {e}"))?;
            if !status.success() {
                return Err(format!("the data-parallel bench failed ({status})"));
            }
        } else {
            eprintln!("bench: no mpirun here: the data-parallel workloads are skipped");
        }
    }
    Ok(())
}
