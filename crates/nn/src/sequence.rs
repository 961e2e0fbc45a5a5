//! Shape items for sequence models: [`Reshape`] (each example to a shape,
//! torch's `nn.Unflatten(1, shape)`), and the two ways from a sequence
//! `[N, T, D]` to one vector per example, [`LastToken`] (`x[:, -1]`) and
//! [`MeanTokens`] (`x.mean(1)`).

use crate::Module;
use gradus_autodiff::{Tape, Var};
use gradus_tensor::Float;

/// Each example to `shape`: `[N, …]` → `[N, shape…]`, the values in
/// order (torch's `nn.Unflatten(1, shape)` on a flattened input). Images
/// become sequences of rows with `Reshape(vec![28, 28])` after `Flatten`.
///
/// ```
/// use gradus_autodiff::{Tape, Var};
/// use gradus_nn::{Module, Reshape};
/// use gradus_tensor::Tensor;
/// let y = Module::<f32>::forward(&Reshape(vec![2, 3]), &Tape::new(), &Var::constant(Tensor::zeros(&[4, 6])));
/// assert_eq!(y.shape(), [4, 2, 3]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reshape(pub Vec<usize>);

impl Reshape {
    fn reshaped(&self, input: &[usize]) -> Result<Vec<usize>, String> {
        let per_example: usize = input.iter().skip(1).product();
        let wanted: usize = self.0.iter().product();
        match input.first() {
            Some(&n) if per_example == wanted => Ok(std::iter::once(n).chain(self.0.iter().copied()).collect()),
            _ => Err(format!(
                "Reshape{:?} needs examples of {wanted} values, got input {input:?} ({per_example} per example)",
                self.0
            )),
        }
    }
}

impl<T: Float> Module<T> for Reshape {
    #[track_caller]
    fn forward(&self, _tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        let shape = self.reshaped(x.shape()).unwrap_or_else(|e| panic!("{e}"));
        x.reshape(&shape.iter().map(|&d| d as isize).collect::<Vec<_>>())
    }

    fn output_shape(&self, input: &[usize]) -> Option<Result<Vec<usize>, String>> {
        Some(self.reshaped(input))
    }
}

fn sequence(name: &str, input: &[usize]) -> Result<Vec<usize>, String> {
    match input {
        [n, t, d] if *t > 0 => Ok(vec![*n, *d]),
        _ => Err(format!("{name} needs a sequence [N, T, D] with T > 0, got {input:?}")),
    }
}

/// The last step of a sequence: `[N, T, D]` → `[N, D]` (`x[:, -1]`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LastToken;

impl<T: Float> Module<T> for LastToken {
    #[track_caller]
    fn forward(&self, _tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        sequence("LastToken", x.shape()).unwrap_or_else(|e| panic!("{e}"));
        x.narrow(1, x.shape()[1] - 1, 1).squeeze(Some(1))
    }

    fn output_shape(&self, input: &[usize]) -> Option<Result<Vec<usize>, String>> {
        Some(sequence("LastToken", input))
    }
}

/// The mean over a sequence's steps: `[N, T, D]` → `[N, D]` (`x.mean(1)`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MeanTokens;

impl<T: Float> Module<T> for MeanTokens {
    #[track_caller]
    fn forward(&self, _tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        sequence("MeanTokens", x.shape()).unwrap_or_else(|e| panic!("{e}"));
        x.mean(1, false)
    }

    fn output_shape(&self, input: &[usize]) -> Option<Result<Vec<usize>, String>> {
        Some(sequence("MeanTokens", input))
    }
}
