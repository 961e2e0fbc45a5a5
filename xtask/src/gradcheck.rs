//! `cargo xtask gradcheck [--filter S] [--seed N] [--json]`: the gradient-check
//! catalogue in release mode (the runner is gradus-nn's `gradcheck`
//! example, so xtask itself stays dependency-free).

use std::path::Path;
use std::process::Command;

/// Builds and runs the catalogue runner, passing the arguments through.
pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(root)
        .args(["run", "--release", "--quiet", "-p", "gradus-nn", "--example", "gradcheck", "--"])
        .args(args)
        .status()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("gradcheck failed ({status})")) }
}
