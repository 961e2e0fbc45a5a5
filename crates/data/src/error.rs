//! Errors of gradus-data: files that cannot be read or are malformed,
//! datasets that cannot be found, failures inside loader workers.

use std::path::PathBuf;

/// What went wrong getting data.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file's contents are malformed (bad magic number, element type,
    /// dimensions, length, gzip stream).
    #[error("{}: {reason}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A CSV row that cannot be used.
    #[error("{}:{line}: {reason}", path.display())]
    Csv {
        /// The file.
        path: PathBuf,
        /// The line (1 is the header).
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A dataset not found in any of the places searched.
    #[error("{dataset} not found; {}", missing.join("; "))]
    NotFound {
        /// The dataset.
        dataset: &'static str,
        /// Every directory tried, in order.
        searched: Vec<PathBuf>,
        /// For each directory, what it lacks (`/data lacks t10k-labels-idx1-ubyte(.gz)`).
        missing: Vec<String>,
    },
    /// A download that failed (network, HTTP status, short body).
    #[error("download of {url} failed: {reason}")]
    Download {
        /// The URL.
        url: String,
        /// What happened.
        reason: String,
    },
    /// A downloaded file whose checksum is wrong; it was deleted.
    #[error("download of {url} is corrupt: MD5 {got}, expected {expected} (the file was not kept)")]
    Checksum {
        /// The URL.
        url: String,
        /// The published MD5.
        expected: String,
        /// The MD5 received.
        got: String,
    },
    /// An index past the end of a dataset.
    #[error("index {index} out of range for a dataset of {len} examples")]
    Index {
        /// The index.
        index: usize,
        /// The dataset's length.
        len: usize,
    },
    /// Datasets or transforms that do not fit together.
    #[error("{0}")]
    Invalid(String),
}

/// `Result` with [`DataError`].
pub type Result<T, E = DataError> = std::result::Result<T, E>;
