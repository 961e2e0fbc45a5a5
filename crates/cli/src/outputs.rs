//! Files a command writes besides a run directory (`--plot`): checked
//! before any work, so a command that exits 2 has changed nothing. A file
//! that exists is replaced only with `--overwrite`; a file the command
//! reads (a checkpoint, a metrics file) is never its output.

use crate::{Failure, usage};
use std::path::{Path, PathBuf};

/// Refuses `output` (given as `flag`) when it is one of `inputs`, or when it
/// exists and `overwrite` is false.
pub fn fresh(flag: &str, output: Option<&Path>, inputs: &[&Path], overwrite: bool) -> Result<(), Failure> {
    let Some(output) = output else {
        return Ok(());
    };
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if let Some(input) = inputs.iter().find(|i| same(output, i)) {
        return Err(usage(format!(
            "{flag} {} is also an input of this command ({}); write the output elsewhere",
            output.display(),
            input.display()
        )));
    }
    if output.is_dir() {
        return Err(usage(format!("{flag} {} is a directory; give a file name", output.display())));
    }
    if output.exists() && !overwrite {
        return Err(usage(format!(
            "{flag} {} exists; give --overwrite to replace it, or another name",
            output.display()
        )));
    }
    Ok(())
}

/// Rows a plot keeps at most: a plot of more shows nothing more, and
/// keeping every row is what grows without bound.
const PLOT_ROWS: usize = 1_000_000;

pub(crate) fn plot_bound(plot: &Option<PathBuf>, steps: usize) -> Result<(), Failure> {
    if plot.is_some() && steps >= PLOT_ROWS {
        return Err(usage(format!(
            "--plot keeps every row in memory: {steps} steps would take {} MB; plot at most {} steps (without --plot rows stream and any number works)",
            (steps as f64 * 24.0 / 1e6).ceil(),
            PLOT_ROWS - 1
        )));
    }
    Ok(())
}
