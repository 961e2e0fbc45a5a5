//! `AutodiffError`: what can go wrong when differentiating.

/// Errors of `backward`, `grad` and the derivative helpers.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AutodiffError {
    /// The output does not depend on any variable that requires gradients.
    #[error("{what} does not require gradients: it was computed from constants or under no_grad")]
    NotTracked {
        /// Which value.
        what: String,
    },
    /// `backward` without an explicit output gradient on a non-scalar.
    #[error("backward needs a scalar output or an explicit output gradient; the output has shape {shape:?}")]
    NotScalar {
        /// The output's shape.
        shape: Vec<usize>,
    },
    /// A second backward pass through a graph whose intermediate values were
    /// released by the first.
    #[error(
        "the graph through `{op}` was released by an earlier backward pass; \
         pass retain_graph (or create_graph) to the first one to go through it again"
    )]
    GraphReleased {
        /// The first released op met.
        op: &'static str,
    },
    /// Variables of different tapes in one call.
    #[error("{what}: variables come from different tapes")]
    DifferentTapes {
        /// The call.
        what: &'static str,
    },
    /// An input of `grad` that the outputs do not depend on.
    #[error("input {index} was not used to compute the outputs (pass allow_unused to get None instead)")]
    Unused {
        /// Position among the inputs.
        index: usize,
    },
    /// A gradient whose shape differs from its output.
    #[error("grad_output {index} has shape {got:?}, its output has shape {expected:?}")]
    GradShape {
        /// Position among the outputs.
        index: usize,
        /// The output's shape.
        expected: Vec<usize>,
        /// The gradient's shape.
        got: Vec<usize>,
    },
    /// Anomaly mode found a non-finite value.
    #[error("anomaly: {phase} of `{op}` (inputs of shapes {shapes:?}) produced NaN or Inf")]
    Anomaly {
        /// "forward" or "backward".
        phase: &'static str,
        /// The op.
        op: &'static str,
        /// Shapes of the op's inputs.
        shapes: Vec<Vec<usize>>,
    },
    /// A tensor-level failure (e.g. a singular Hessian).
    #[error(transparent)]
    Tensor(#[from] gradus_tensor::TensorError),
}

/// `Result` with [`AutodiffError`].
pub type Result<T, E = AutodiffError> = std::result::Result<T, E>;
