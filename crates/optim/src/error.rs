//! Errors of gradus-optim.

use gradus_spec::SpecError;

/// What went wrong building or running an optimiser.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum OptimError {
    /// A hyper-parameter outside its range, named.
    #[error("{optimizer}: `{field}` {reason}")]
    Invalid {
        /// The optimiser.
        optimizer: &'static str,
        /// The field.
        field: &'static str,
        /// What is required, and what was given.
        reason: String,
    },
    /// A spec string that does not parse or does not fit.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// A parameter no group holds.
    #[error("parameter {0} is in no parameter group")]
    UnknownParam(u64),
    /// A gradient or parameter whose length differs from what the state was made for.
    #[error("parameter {key}: {what} has {got} elements, expected {expected}")]
    Length {
        /// The parameter.
        key: u64,
        /// Which slice.
        what: &'static str,
        /// Its length.
        got: usize,
        /// The expected length.
        expected: usize,
    },
    /// A parameter whose shape differs from the one its state was made for.
    #[error("parameter {key}: shape {got:?}, but its optimiser state was made for {expected:?}")]
    Shape {
        /// The parameter.
        key: u64,
        /// The shape given.
        got: Vec<usize>,
        /// The state's shape.
        expected: Vec<usize>,
    },
    /// A method that solves with the curvature asked to step without it, or
    /// an oracle that failed during such a step.
    #[error("{0}")]
    Solve(String),
    /// A saved state that does not fit this optimiser.
    #[error("optimiser state does not fit: {0}")]
    State(String),
}

/// `Result` with [`OptimError`].
pub type Result<T, E = OptimError> = std::result::Result<T, E>;

/// Fails with [`OptimError::Invalid`] unless `ok`.
pub(crate) fn check(
    ok: bool,
    optimizer: &'static str,
    field: &'static str,
    reason: impl FnOnce() -> String,
) -> Result<()> {
    if ok { Ok(()) } else { Err(OptimError::Invalid { optimizer, field, reason: reason() }) }
}

/// The common checks: lr ≥ 0, weight_decay ≥ 0, eps ≥ 0.
pub(crate) fn check_common(optimizer: &'static str, lr: f64, weight_decay: f64, eps: f64) -> Result<()> {
    check(lr >= 0.0, optimizer, "lr", || format!("must be >= 0, got {lr}"))?;
    check(weight_decay >= 0.0, optimizer, "weight_decay", || format!("must be >= 0, got {weight_decay}"))?;
    check(eps >= 0.0, optimizer, "eps", || format!("must be >= 0, got {eps}"))
}

/// β in [0, 1).
pub(crate) fn check_beta(optimizer: &'static str, field: &'static str, beta: f64) -> Result<()> {
    check((0.0..1.0).contains(&beta), optimizer, field, || format!("must be in [0, 1), got {beta}"))
}
