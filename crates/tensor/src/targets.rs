//! The targets of a mini-batch: what a data loader makes and a loss reads.
//! It lives here, in the crate both depend on, so that the two speak of
//! one type.

use crate::{Float, Tensor};

/// The targets of a batch: one class index per example, or values.
///
/// # Examples
/// ```
/// use gradus_tensor::{BatchTargets, Tensor};
/// let y = BatchTargets::<f32>::Classes(Tensor::from_vec(vec![3usize, 0], &[2]).unwrap());
/// assert_eq!((y.len(), y.kind()), (2, "class indices"));
/// let p = BatchTargets::Values(Tensor::<f32>::zeros(&[2, 10]));
/// assert_eq!((p.len(), p.kind()), (2, "values"));
/// ```
#[derive(Clone, Debug)]
pub enum BatchTargets<T: Float> {
    /// Class indices `[b]`.
    Classes(Tensor<usize>),
    /// Values `[b, …]`: regression targets, probabilities, 0/1 labels.
    Values(Tensor<T>),
}

impl<T: Float> BatchTargets<T> {
    /// What kind of targets these are, for messages: `class indices` or
    /// `values`.
    pub fn kind(&self) -> &'static str {
        match self {
            BatchTargets::Classes(_) => "class indices",
            BatchTargets::Values(_) => "values",
        }
    }

    /// Examples in the batch: the first dimension (1 for a scalar).
    pub fn len(&self) -> usize {
        let shape = match self {
            BatchTargets::Classes(c) => c.shape(),
            BatchTargets::Values(v) => v.shape(),
        };
        shape.first().copied().unwrap_or(1)
    }

    /// Examples `start .. start + len` (a micro-batch), contiguous.
    ///
    /// # Panics
    /// If the range is beyond the batch, or the targets are a scalar.
    ///
    /// ```
    /// use gradus_tensor::{BatchTargets, Tensor};
    /// let y = BatchTargets::<f32>::Classes(Tensor::from_vec(vec![3usize, 0, 7], &[3]).unwrap());
    /// let BatchTargets::Classes(c) = y.rows(1, 2) else { unreachable!() };
    /// assert_eq!(c.to_vec(), [0, 7]);
    /// ```
    #[track_caller]
    pub fn rows(&self, start: usize, len: usize) -> Self {
        match self {
            BatchTargets::Classes(c) => BatchTargets::Classes(c.narrow(0, start, len).contiguous()),
            BatchTargets::Values(v) => BatchTargets::Values(v.narrow(0, start, len).contiguous()),
        }
    }

    /// Whether the batch has no examples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
