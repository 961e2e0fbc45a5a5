//! `cargo xtask ci`: what CI runs, in order, stopping at the first failure.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// The steps: name and cargo arguments.
const STEPS: [(&str, &[&str]); 6] = [
    ("format", &["fmt", "--all", "--", "--check"]),
    ("clippy", &["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]),
    // With RUSTDOCFLAGS="-D warnings": a broken or private doc link fails.
    ("docs", &["doc", "--workspace", "--no-deps"]),
    ("tests", &["test", "--workspace"]),
    // gradus-optim on its own, without gradus-tensor (and faer): the
    // first-order optimisers and their trajectories, as a crate that wants
    // only them builds it.
    (
        "clippy (gradus-optim alone)",
        &["clippy", "-p", "gradus-optim", "--no-default-features", "--all-targets", "--", "-D", "warnings"],
    ),
    ("tests (gradus-optim alone)", &["test", "-p", "gradus-optim", "--no-default-features"]),
];

/// With MPI on the machine (`mpirun` runs): clippy and the data-parallel
/// tests with the `mpi` feature, which run under mpirun over TCP loopback.
const MPI_STEPS: [(&str, &[&str]); 3] = [
    (
        "clippy (mpi)",
        // Only the crates whose code the feature changes (the others were
        // linted by the first clippy step).
        &[
            "clippy",
            "-p",
            "gradus-dist",
            "-p",
            "gradus",
            "-p",
            "gradus-cli",
            "-p",
            "gradus-benches",
            "--all-targets",
            "--features",
            "gradus-cli/mpi,gradus-benches/mpi",
            "--",
            "-D",
            "warnings",
        ],
    ),
    ("tests (mpi): gradus-dist", &["test", "-p", "gradus-dist", "--features", "mpi"]),
    (
        "tests (mpi): under mpirun",
        &[
            "test",
            "-p",
            "gradus-cli",
            "-p",
            "gradus",
            "--features",
            "gradus-cli/mpi",
            "--test",
            "mpi",
            "--test",
            "distributed",
        ],
    ),
];

/// Runs every step; extra arguments are passed to `cargo test` (a filter,
/// `--release`).
pub fn run(root: &Path, extra: &[String]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mpi = crate::has_mpirun();
    if !mpi {
        eprintln!(
            "xtask ci: no mpirun here: the data-parallel steps are skipped (apt-get install libopenmpi-dev openmpi-bin libclang-dev)"
        );
    }
    check_rust_version(root)?;
    let steps = STEPS.iter().chain(if mpi { &MPI_STEPS[..] } else { &[] });
    for &(name, args) in steps {
        let started = Instant::now();
        eprintln!("xtask ci: {name}: cargo {}", args.join(" "));
        let mut cmd = Command::new(&cargo);
        cmd.current_dir(root).args(args);
        if name == "tests" {
            cmd.args(extra);
        }
        if name == "docs" {
            cmd.env("RUSTDOCFLAGS", "-D warnings");
        }
        if name.contains("mpirun") {
            // The tests start mpirun as root on CI's machines.
            cmd.env("OMPI_ALLOW_RUN_AS_ROOT", "1").env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
        }
        let status = cmd.status().map_err(|e| format!("{name}: could not run cargo: {e}"))?;
        if !status.success() {
            return Err(format!("{name} failed ({status})"));
        }
        eprintln!("xtask ci: {name} passed in {:.1}s", started.elapsed().as_secs_f64());
    }
    Ok(())
}

/// The workspace's `rust-version` must be the toolchain CI builds and tests
/// with, so that the version it claims is one the suite has passed on.
fn check_rust_version(root: &Path) -> Result<(), String> {
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).map_err(|e| format!("Cargo.toml: {e}"))?;
    let claimed = manifest
        .lines()
        .find_map(|l| l.trim().strip_prefix("rust-version = \"")?.strip_suffix('"'))
        .ok_or("Cargo.toml: no rust-version")?;
    let out = Command::new("rustc").arg("--version").output().map_err(|e| format!("rustc --version: {e}"))?;
    let version = String::from_utf8_lossy(&out.stdout);
    let running = version.split_whitespace().nth(1).unwrap_or("");
    let minor = |v: &str| v.split('.').take(2).collect::<Vec<_>>().join(".");
    if minor(running) != minor(claimed) {
        return Err(format!(
            "rust-version: Cargo.toml claims {claimed}, this toolchain is {running}; set rust-version to the toolchain the suite passes on"
        ));
    }
    eprintln!("xtask ci: rust-version {claimed} is this toolchain ({running})");
    Ok(())
}
