//! Kullback–Leibler divergence.

use crate::Reduction;
use gradus_autodiff::Var;
use gradus_tensor::{Float, Tensor};

/// KL divergence as `torch.nn.functional.kl_div(input, target)`: `input`
/// holds log-probabilities; pointwise t·(ln t − input) with 0 where t = 0,
/// or, with `log_target`, eᵗ·(t − input). Differentiable in both. Use
/// [`Reduction::BatchMean`] for the mathematical KL per sample
/// ([`Reduction::Mean`] averages over every element, as PyTorch's `mean`).
///
/// Where a target entry is exactly 0, its gradient is −input (t·ln t has
/// no finite derivative there; PyTorch returns NaN). Values and all other
/// gradients equal PyTorch's.
///
/// # Examples
/// ```
/// use gradus_autodiff::Var;
/// use gradus_loss::{Reduction, kl_div};
/// use gradus_tensor::Tensor;
/// let p = Tensor::from_vec(vec![0.5f64, 0.5, 0.0], &[1, 3]).unwrap();
/// let q = Tensor::from_vec(vec![0.25f64, 0.5, 0.25], &[1, 3]).unwrap();
/// let kl = kl_div(&Var::constant(q.ln()), &Var::constant(p), false, Reduction::BatchMean);
/// assert!((kl.item() - 0.5 * 2f64.ln()).abs() < 1e-15);
/// ```
///
/// # Panics
/// If the shapes differ.
#[track_caller]
pub fn kl_div<T: Float>(input: &Var<T>, target: &Var<T>, log_target: bool, reduction: Reduction) -> Var<T> {
    assert_eq!(
        input.shape(),
        target.shape(),
        "kl_div: input of shape {:?} and target of shape {:?} differ",
        input.shape(),
        target.shape()
    );
    let per = if log_target {
        &target.exp() * &(target - input)
    } else {
        // t·ln t with 0 at t = 0, through ln of 1 there so no NaN leaks into gradients.
        let zero = target.value().lt_scalar(T::min_positive_value());
        let safe = Var::select(&zero, &Var::constant(Tensor::ones(target.shape())), target);
        &(target * &safe.ln()) - &(target * input)
    };
    reduction.apply_mean(per)
}
