//! What a method asks its caller to measure before some of its steps
//! (Sophia: the Hessian's diagonal; K-FAC: Kronecker factors of the
//! Fisher), and the estimates it is handed. The optimiser never computes
//! curvature itself: it has no model, only parameters and gradients.

/// A kind of curvature estimate a method uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CurvatureKind {
    /// An estimate of the Hessian's diagonal, one value per element
    /// (Hutchinson's u ⊙ Hu).
    HessianDiagonal,
    /// Kronecker factors of a layer's curvature block, A ⊗ G
    /// ([`Estimate::Kronecker`]), for the parameters of linear and
    /// convolution layers; other parameters get none.
    Kronecker,
    /// Products with the Gauss–Newton matrix on the batch, and the loss at
    /// other points, asked for inside the step through a
    /// [`CurvatureOracle`] ([`UpdateRule::update_solving`](crate::UpdateRule::update_solving)).
    Ggn,
    /// Products with the Hessian on the batch, as [`CurvatureKind::Ggn`].
    Hessian,
}

impl CurvatureKind {
    /// Whether the method takes its step through a [`CurvatureOracle`]
    /// (products inside the step) rather than an estimate handed in
    /// before it.
    pub fn solves(self) -> bool {
        matches!(self, CurvatureKind::Ggn | CurvatureKind::Hessian)
    }
}

/// What a method that solves with the curvature inside its step
/// (Hessian-free) asks of the caller, over all the parameters it steps,
/// flattened in their order.
pub trait CurvatureOracle<T> {
    /// B·v for the batch's curvature matrix B (the Gauss–Newton matrix or
    /// the Hessian, as requested) at the current parameters.
    ///
    /// # Errors
    /// What failed, as a message.
    fn product(&mut self, v: &[T]) -> Result<Vec<T>, String>;

    /// The batch's loss with the parameters at `theta`; the model is left
    /// as it was.
    ///
    /// # Errors
    /// What failed, as a message.
    fn loss_at(&mut self, theta: &[T]) -> Result<f64, String>;
}

/// A method's request: this kind of estimate before the steps whose step
/// count (steps taken before it) is a multiple of `every`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CurvatureRequest {
    /// What to measure.
    pub kind: CurvatureKind,
    /// How often, in steps.
    pub every: usize,
}

/// One parameter's curvature estimate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Estimate<'a, T> {
    /// The Hessian's diagonal at the parameter, one value per element.
    HessianDiagonal(&'a [T]),
    /// The parameter read as a matrix `[out, rest]` (its first axis by the
    /// others; a vector is `[out, 1]`): its curvature block ≈ G ⊗ A in
    /// row-major order, A `[rest, rest]` from the layer's inputs and G
    /// `[out, out]` from the gradients at its outputs, both row-major.
    Kronecker {
        /// The input-side factor, `rest × rest`.
        a: &'a [T],
        /// The output-side factor, `out × out`.
        g: &'a [T],
    },
}

impl<T> Estimate<'_, T> {
    /// The kind of estimate this is.
    pub fn kind(&self) -> CurvatureKind {
        match self {
            Estimate::HessianDiagonal(_) => CurvatureKind::HessianDiagonal,
            Estimate::Kronecker { .. } => CurvatureKind::Kronecker,
        }
    }

    /// The number of values it holds.
    pub fn len(&self) -> usize {
        match self {
            Estimate::HessianDiagonal(d) => d.len(),
            Estimate::Kronecker { a, g } => a.len() + g.len(),
        }
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether `rule` takes its steps through a [`CurvatureOracle`] (a
/// wrapper cannot step it on its own).
pub(crate) fn solves<T: crate::platform::Float>(rule: &dyn crate::UpdateRule<T>) -> bool {
    rule.curvature_request().is_some_and(|r| r.kind.solves())
}

/// A parameter of `shape` as the matrix K-FAC reads it: (out, rest), the
/// first axis by the product of the others (a scalar is 1 × 1).
pub fn kronecker_sides(shape: &[usize]) -> (usize, usize) {
    match shape.split_first() {
        Some((&out, rest)) => (out, rest.iter().product()),
        None => (1, 1),
    }
}
