//! `TensorError`: what can go wrong, naming the operation and the shapes.

/// Errors of tensor operations and constructors.
///
/// Operations panic with this error's message (naming the op and the shapes)
/// when called in their plain form; the `try_` forms and fallible
/// constructors return it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TensorError {
    /// The data length does not match the product of the shape.
    #[error("{op}: shape {shape:?} needs {expected} elements, got {got}")]
    DataLength {
        /// The operation.
        op: &'static str,
        /// The requested shape.
        shape: Vec<usize>,
        /// Elements the shape needs.
        expected: usize,
        /// Elements supplied.
        got: usize,
    },
    /// Two shapes cannot be broadcast together (NumPy's rules).
    #[error("{op}: shapes {lhs:?} and {rhs:?} cannot be broadcast together")]
    Broadcast {
        /// The operation.
        op: &'static str,
        /// Left shape.
        lhs: Vec<usize>,
        /// Right shape.
        rhs: Vec<usize>,
    },
    /// Two shapes are incompatible for an operation.
    #[error("{op}: incompatible shapes {lhs:?} and {rhs:?}: {reason}")]
    ShapeMismatch {
        /// The operation.
        op: &'static str,
        /// First shape.
        lhs: Vec<usize>,
        /// Second shape.
        rhs: Vec<usize>,
        /// What was expected.
        reason: String,
    },
    /// An axis outside `-rank..rank`.
    #[error("{op}: axis {axis} is out of range for a tensor of rank {rank} (shape {shape:?})")]
    AxisOutOfRange {
        /// The operation.
        op: &'static str,
        /// The axis given.
        axis: isize,
        /// The tensor's rank.
        rank: usize,
        /// The tensor's shape.
        shape: Vec<usize>,
    },
    /// An index outside `0..size` along an axis.
    #[error("{op}: index {index} is out of range for axis {axis} of size {size}")]
    IndexOutOfRange {
        /// The operation.
        op: &'static str,
        /// The index given.
        index: usize,
        /// The axis indexed.
        axis: usize,
        /// The axis length.
        size: usize,
    },
    /// An argument outside its valid range.
    #[error("{op}: {reason}")]
    InvalidArgument {
        /// The operation.
        op: &'static str,
        /// What was wrong and what is accepted.
        reason: String,
    },
    /// A linear system whose matrix is singular (a zero pivot in LU).
    #[error("{op}: matrix is singular (zero pivot at row {pivot})")]
    Singular {
        /// The operation.
        op: &'static str,
        /// The first zero pivot.
        pivot: usize,
    },
    /// Cholesky of a matrix that is not symmetric positive definite.
    #[error("{op}: matrix is not positive definite")]
    NotPositiveDefinite {
        /// The operation.
        op: &'static str,
    },
    /// An iterative decomposition that did not converge.
    #[error("{op}: did not converge")]
    NoConvergence {
        /// The operation.
        op: &'static str,
    },
}

/// `Result` with [`TensorError`].
pub type Result<T, E = TensorError> = std::result::Result<T, E>;

/// Unwraps an op's result, panicking with the error's message at the caller.
#[track_caller]
#[inline]
pub(crate) fn or_panic<T>(result: Result<T>) -> T {
    match result {
        Ok(value) => value,
        Err(err) => panic!("{err}"),
    }
}
