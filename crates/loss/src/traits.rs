//! The `Loss` trait for pluggable training loops, and the losses as values.

use crate::{
    CrossEntropyOptions, LossError, Reduction, binary_cross_entropy_with_logits, cross_entropy_probs,
    cross_entropy_with, huber, l1, mse, nll_with, smooth_l1,
};
use gradus_autodiff::Var;
use gradus_tensor::{BatchTargets, Float, Tensor};

/// A loss a training loop can hold without knowing which: the model's
/// output and the batch's targets in, the loss out.
///
/// # Examples
/// ```
/// use gradus_autodiff::Var;
/// use gradus_loss::{BatchTargets, CrossEntropy, Loss};
/// use gradus_tensor::Tensor;
/// let loss: Box<dyn Loss<f64>> = Box::new(CrossEntropy::default());
/// let z = Var::constant(Tensor::zeros(&[2, 4]));
/// let y = BatchTargets::Classes(Tensor::from_vec(vec![1usize, 3], &[2]).unwrap());
/// assert!((loss.loss(&z, &y).unwrap().item() - 4f64.ln()).abs() < 1e-15);
/// assert!(loss.loss(&z, &BatchTargets::Values(Tensor::zeros(&[2, 4]))).is_ok()); // soft labels
/// ```
pub trait Loss<T: Float> {
    /// The loss's name (for reports).
    fn name(&self) -> &'static str;

    /// The loss of `output` against `targets`.
    ///
    /// # Errors
    /// [`LossError::Targets`] if the loss cannot take this kind of target.
    fn loss(&self, output: &Var<T>, targets: &BatchTargets<T>) -> Result<Var<T>, LossError>;
}

/// Cross-entropy from logits: class indices, or probabilities (soft labels).
#[derive(Clone, Debug, Default)]
pub struct CrossEntropy<T: Float>(pub CrossEntropyOptions<T>);

impl<T: Float> Loss<T> for CrossEntropy<T> {
    fn name(&self) -> &'static str {
        "cross_entropy"
    }
    fn loss(&self, output: &Var<T>, targets: &BatchTargets<T>) -> Result<Var<T>, LossError> {
        Ok(match targets {
            BatchTargets::Classes(y) => cross_entropy_with(output, y, &self.0),
            BatchTargets::Values(p) => cross_entropy_probs(output, p, &self.0),
        })
    }
}

/// NLL on log-probabilities, class indices.
#[derive(Clone, Debug, Default)]
pub struct Nll<T: Float>(pub CrossEntropyOptions<T>);

impl<T: Float> Loss<T> for Nll<T> {
    fn name(&self) -> &'static str {
        "nll"
    }
    fn loss(&self, output: &Var<T>, targets: &BatchTargets<T>) -> Result<Var<T>, LossError> {
        match targets {
            BatchTargets::Classes(y) => Ok(nll_with(output, y, &self.0)),
            other => Err(LossError::Targets { loss: "nll", expected: "class indices", got: other.kind() }),
        }
    }
}

/// Binary cross-entropy from logits, 0/1 (or soft) value targets.
#[derive(Clone, Debug, Default)]
pub struct BceWithLogits<T: Float> {
    /// Per-element weight (broadcast).
    pub weight: Option<Tensor<T>>,
    /// Weight of positive examples, per class (broadcast along the last dim).
    pub pos_weight: Option<Tensor<T>>,
    /// Reduction.
    pub reduction: Reduction,
}

impl<T: Float> Loss<T> for BceWithLogits<T> {
    fn name(&self) -> &'static str {
        "binary_cross_entropy_with_logits"
    }
    fn loss(&self, output: &Var<T>, targets: &BatchTargets<T>) -> Result<Var<T>, LossError> {
        match targets {
            BatchTargets::Values(y) => Ok(binary_cross_entropy_with_logits(
                output,
                y,
                self.weight.as_ref(),
                self.pos_weight.as_ref(),
                self.reduction,
            )),
            other => Err(LossError::Targets { loss: self.name(), expected: "values", got: other.kind() }),
        }
    }
}

/// A regression loss on value targets (they enter as constants).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Regression {
    /// [`mse`].
    Mse(Reduction),
    /// [`l1`].
    L1(Reduction),
    /// [`huber`] with δ.
    Huber(f64, Reduction),
    /// [`smooth_l1`] with β.
    SmoothL1(f64, Reduction),
}

impl<T: Float> Loss<T> for Regression {
    fn name(&self) -> &'static str {
        match self {
            Regression::Mse(_) => "mse",
            Regression::L1(_) => "l1",
            Regression::Huber(..) => "huber",
            Regression::SmoothL1(..) => "smooth_l1",
        }
    }
    fn loss(&self, output: &Var<T>, targets: &BatchTargets<T>) -> Result<Var<T>, LossError> {
        let BatchTargets::Values(y) = targets else {
            return Err(LossError::Targets { loss: Loss::<T>::name(self), expected: "values", got: targets.kind() });
        };
        let y = Var::constant(y.clone());
        Ok(match *self {
            Regression::Mse(r) => mse(output, &y, r),
            Regression::L1(r) => l1(output, &y, r),
            Regression::Huber(delta, r) => huber(output, &y, T::of(delta), r),
            Regression::SmoothL1(beta, r) => smooth_l1(output, &y, T::of(beta), r),
        })
    }
}
