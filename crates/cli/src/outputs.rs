//! Files a command writes besides a run directory (`--plot`): checked
//! before any work, so a command that exits 2 has changed nothing. The
//! rule is [`gradus::run::output_clash`]'s; this words it with the flags.

use crate::{Failure, usage};
use gradus::run::{Clash, output_clash};
use std::path::{Path, PathBuf};

/// Refuses `output` (given as `flag`) when it is one of `inputs`, a
/// directory, or when it exists and `overwrite` is false.
pub fn fresh(flag: &str, output: Option<&Path>, inputs: &[&Path], overwrite: bool) -> Result<(), Failure> {
    let Some(output) = output else {
        return Ok(());
    };
    let why = match output_clash(output, inputs, overwrite) {
        None => return Ok(()),
        Some(Clash::Input(input)) => {
            format!("is also an input of this command ({}); write the output elsewhere", input.display())
        }
        Some(Clash::Directory) => "is a directory; give a file name".into(),
        Some(Clash::Exists) => "exists; give --overwrite to replace it, or another name".into(),
    };
    Err(usage(format!("{flag} {} {why}", output.display())))
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
