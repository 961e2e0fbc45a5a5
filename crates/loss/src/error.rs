//! Errors of gradus-loss.

/// A [`Loss`](crate::Loss) given targets of the wrong kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LossError {
    /// Class indices where values were expected, or the reverse.
    #[error("{loss} needs {expected} as targets, got {got}")]
    Targets {
        /// The loss.
        loss: &'static str,
        /// What it takes.
        expected: &'static str,
        /// What it was given.
        got: &'static str,
    },
}
