//! Errors of gradus-sched: invalid hyper-parameters and bad spec strings.

use gradus_spec::SpecError;

/// A schedule that cannot be built.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SchedError {
    /// A hyper-parameter outside its range, named.
    #[error("{schedule}: `{field}` {reason}")]
    Invalid {
        /// The schedule.
        schedule: &'static str,
        /// The field.
        field: &'static str,
        /// What is required, and what was given.
        reason: String,
    },
    /// A spec string that does not parse or does not fit.
    #[error(transparent)]
    Spec(#[from] SpecError),
}

/// `Result` with [`SchedError`].
pub type Result<T, E = SchedError> = std::result::Result<T, E>;

/// Fails with [`SchedError::Invalid`] unless `ok`.
pub(crate) fn check(
    ok: bool,
    schedule: &'static str,
    field: &'static str,
    reason: impl FnOnce() -> String,
) -> Result<()> {
    if ok { Ok(()) } else { Err(SchedError::Invalid { schedule, field, reason: reason() }) }
}
