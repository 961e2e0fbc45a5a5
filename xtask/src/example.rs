//! Tasks that run a library example in release mode, passing arguments
//! through (so xtask itself stays dependency-free): `gradcheck` (gradus-nn's
//! `gradcheck`, the whole catalogue) and `demo` (the facade's `demo`, the
//! main job).

use std::path::Path;
use std::process::Command;

/// Builds and runs `package`'s example `example` with `args`.
pub fn run(root: &Path, package: &str, example: &str, args: &[String]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(root)
        .args(["run", "--release", "--quiet", "-p", package, "--example", example, "--"])
        .args(args)
        .status()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("{example} failed ({status})")) }
}
