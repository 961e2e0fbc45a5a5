//! Errors of gradus-nn: checkpoints that cannot be read or do not fit.

use std::path::PathBuf;

/// What went wrong reading or writing a checkpoint.
#[derive(Debug, thiserror::Error)]
pub enum NnError {
    /// The file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not a valid safetensors file (truncated, corrupt header,
    /// offsets out of range).
    #[error("{}: not a valid safetensors checkpoint: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The checkpoint does not fit the model; every mismatch is listed.
    #[error("checkpoint does not fit the model:\n  {}", mismatches.join("\n  "))]
    Mismatch {
        /// One line per missing name, unexpected name, wrong shape or dtype.
        mismatches: Vec<String>,
    },
}

/// `Result` with [`NnError`].
pub type Result<T, E = NnError> = std::result::Result<T, E>;
