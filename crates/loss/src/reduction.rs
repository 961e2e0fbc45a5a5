//! `Reduction`: how per-element losses become the loss.

use gradus_autodiff::Var;
use gradus_tensor::Float;

/// How a loss reduces its per-element (or per-sample) values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reduction {
    /// The values themselves.
    None,
    /// Their mean (for class-weighted losses: divided by the sum of the
    /// weights of the targets, as PyTorch).
    #[default]
    Mean,
    /// Their sum.
    Sum,
    /// Their sum divided by the batch size (the first dimension), which is
    /// what makes KL divergence the mathematical per-sample KL.
    BatchMean,
}

impl Reduction {
    /// Applies the reduction to `values` whose mean divides by `count`.
    pub(crate) fn apply<T: Float>(self, values: Var<T>, count: T) -> Var<T> {
        match self {
            Reduction::None => values,
            Reduction::Sum => values.sum(.., false),
            Reduction::Mean => values.sum(.., false).mul_scalar(T::one() / count),
            Reduction::BatchMean => {
                let n = values.shape().first().copied().unwrap_or(1);
                values.sum(.., false).mul_scalar(T::one() / T::of(n as f64))
            }
        }
    }

    /// Applies the reduction with the plain mean over all elements.
    pub(crate) fn apply_mean<T: Float>(self, values: Var<T>) -> Var<T> {
        let n = values.value().numel();
        self.apply(values, T::of(n as f64))
    }
}
