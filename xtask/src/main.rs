//! `cargo xtask <task>`: the workspace's automation, in Rust so it runs
//! wherever cargo does.
//!
//! Tasks: `ci` (format check, clippy with warnings denied, the test suite —
//! the README's test command), `tidy` (file-size cap, `//!` on every module,
//! the crate dependency graph of docs/architecture.md; also a `#[test]`),
//! `gradcheck` (the gradient-check catalogue in release mode), `demo`
//! (the main job: optimisers compared on Fashion-MNIST) and `bench` (the
//! criterion suite and the scoreboard against PyTorch).

mod bench;
mod ci;
mod example;
mod tidy;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  ci          cargo fmt --check, clippy -D warnings, the whole test suite
  tidy        file sizes, module docs, crate dependency graph
  gradcheck   the gradient-check catalogue [--filter S] [--seed N] [--json]
  demo        the main job: six optimisers on Fashion-MNIST (or two spirals),
              ranked, with learning curves and optimiser paths; then a
              small transformer on the licence texts with three optimisers
              [--epochs N] [--out DIR] [--data-dir DIR] [--download]
              [--model SPEC] [--text-epochs N]
  bench       criterion benches, then gradus beside PyTorch (when a Python
              with torch is found: $GRADUS_TORCH_PYTHON or python3) into
              target/bench/report.md and report.json
              [--quick] [--filter S] [--scoreboard-only] [--criterion-only]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci::run(&root, &args[1..]),
        Some("gradcheck") => example::run(&root, "gradus-nn", "gradcheck", &args[1..]),
        Some("demo") => example::run(&root, "gradus", "demo", &args[1..]),
        Some("bench") => bench::run(&root, &args[1..]),
        Some("tidy") => tidy::run(&root).map_err(|problems| {
            for p in &problems {
                eprintln!("tidy: {p}");
            }
            format!("{} tidy problem(s)", problems.len())
        }),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown task `{other}`\n\n{USAGE}")),
        None => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("xtask: {msg}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: the parent of this crate's manifest directory.
fn workspace_root() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    dir.parent().expect("xtask lives in the workspace root").to_path_buf()
}

/// Whether `mpirun` runs here (the data-parallel steps of `ci` and `bench`).
fn has_mpirun() -> bool {
    std::process::Command::new("mpirun").arg("--version").output().is_ok_and(|o| o.status.success())
}
