//! `cargo xtask ci`: what CI runs, in order, stopping at the first failure.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// The steps: name and cargo arguments.
const STEPS: [(&str, &[&str]); 3] = [
    ("format", &["fmt", "--all", "--", "--check"]),
    ("clippy", &["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]),
    ("tests", &["test", "--workspace"]),
];

/// Runs every step; extra arguments are passed to `cargo test` (a filter,
/// `--release`).
pub fn run(root: &Path, extra: &[String]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    for (name, args) in STEPS {
        let started = Instant::now();
        eprintln!("xtask ci: {name}: cargo {}", args.join(" "));
        let mut cmd = Command::new(&cargo);
        cmd.current_dir(root).args(args);
        if name == "tests" {
            cmd.args(extra);
        }
        let status = cmd.status().map_err(|e| format!("{name}: could not run cargo: {e}"))?;
        if !status.success() {
            return Err(format!("{name} failed ({status})"));
        }
        eprintln!("xtask ci: {name} passed in {:.1}s", started.elapsed().as_secs_f64());
    }
    Ok(())
}
