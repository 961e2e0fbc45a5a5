//! Regression losses: MSE, L1, Huber, smooth L1 and Gaussian negative
//! log-likelihood. Input and target must have the same shape (PyTorch only
//! warns when they broadcast, the source of many a silent bug).

use crate::Reduction;
use gradus_autodiff::Var;
use gradus_tensor::Float;

#[track_caller]
fn same_shape<T: Float>(loss: &str, input: &Var<T>, target: &Var<T>) {
    assert_eq!(
        input.shape(),
        target.shape(),
        "{loss}: input of shape {:?} and target of shape {:?} differ",
        input.shape(),
        target.shape()
    );
}

/// Mean squared error (x − y)² (the textbook form is ½‖y − z‖²: that is
/// `mse(…, Reduction::Sum) / 2`).
///
/// # Examples
/// ```
/// use gradus_autodiff::Var;
/// use gradus_loss::{Reduction, mse};
/// use gradus_tensor::Tensor;
/// let x = Var::constant(Tensor::from_vec(vec![1.0f64, 2.0, 4.0], &[3]).unwrap());
/// let y = Var::constant(Tensor::from_vec(vec![1.0, 0.0, 1.0], &[3]).unwrap());
/// assert_eq!(mse(&x, &y, Reduction::Mean).item(), 13.0 / 3.0);
/// ```
#[track_caller]
pub fn mse<T: Float>(input: &Var<T>, target: &Var<T>, reduction: Reduction) -> Var<T> {
    same_shape("mse", input, target);
    reduction.apply_mean((input - target).square())
}

/// Mean absolute error |x − y| (gradient 0 where x = y, as PyTorch).
#[track_caller]
pub fn l1<T: Float>(input: &Var<T>, target: &Var<T>, reduction: Reduction) -> Var<T> {
    same_shape("l1", input, target);
    reduction.apply_mean((input - target).abs())
}

/// Huber loss: ½d² where |d| < δ, δ(|d| − ½δ) beyond (d = x − y).
///
/// # Panics
/// If `delta` is not positive, or the shapes differ.
#[track_caller]
pub fn huber<T: Float>(input: &Var<T>, target: &Var<T>, delta: T, reduction: Reduction) -> Var<T> {
    same_shape("huber", input, target);
    assert!(delta > T::zero(), "huber: delta must be positive, got {delta}");
    let d = input - target;
    let a = d.abs();
    let inside = a.value().lt_scalar(delta);
    let quadratic = d.square().mul_scalar(T::of(0.5));
    let linear = a.add_scalar(-T::of(0.5) * delta).mul_scalar(delta);
    reduction.apply_mean(Var::select(&inside, &quadratic, &linear))
}

/// Smooth L1: ½d²/β where |d| < β, |d| − ½β beyond; β = 0 is L1 (as PyTorch).
///
/// # Panics
/// If `beta` is negative, or the shapes differ.
#[track_caller]
pub fn smooth_l1<T: Float>(input: &Var<T>, target: &Var<T>, beta: T, reduction: Reduction) -> Var<T> {
    same_shape("smooth_l1", input, target);
    assert!(beta >= T::zero(), "smooth_l1: beta must be >= 0, got {beta}");
    if beta == T::zero() {
        return l1(input, target, reduction);
    }
    let d = input - target;
    let a = d.abs();
    let inside = a.value().lt_scalar(beta);
    let quadratic = d.square().mul_scalar(T::of(0.5) / beta);
    let linear = a.add_scalar(-T::of(0.5) * beta);
    reduction.apply_mean(Var::select(&inside, &quadratic, &linear))
}

/// Gaussian negative log-likelihood ½(ln v + (x − y)²/v) [+ ½ln 2π when
/// `full`], as `torch.nn.functional.gaussian_nll_loss`: `var` has the
/// input's shape, or lacks its last dimension, or has it of size 1; it is
/// clamped to at least `eps` for the value while its gradient passes
/// through unclamped (PyTorch clamps under `no_grad`).
///
/// # Panics
/// If `var` has another shape or a negative entry, or input and target differ in shape.
#[track_caller]
pub fn gaussian_nll<T: Float>(
    input: &Var<T>,
    target: &Var<T>,
    var: &Var<T>,
    full: bool,
    eps: T,
    reduction: Reduction,
) -> Var<T> {
    same_shape("gaussian_nll", input, target);
    let shape = input.shape();
    let var = if var.shape() == shape {
        var.clone()
    } else if shape.split_last().map(|(_, rest)| rest) == Some(var.shape()) {
        var.unsqueeze(-1)
    } else if var.shape().split_last().map(|(last, rest)| (*last, rest)) == shape.split_last().map(|(_, r)| (1, r)) {
        var.clone()
    } else {
        panic!("gaussian_nll: var of shape {:?} does not fit input of shape {shape:?}", var.shape())
    };
    assert!(!var.value().lt_scalar(T::zero()).any(), "gaussian_nll: var has negative entries");
    // Value clamped, gradient straight through.
    let clamped = var.value().clamp(eps, T::infinity());
    let var = &var + &Var::constant(&clamped - var.value());
    let mut loss = (&var.ln() + &(input - target).square().div(&var)).mul_scalar(T::of(0.5));
    if full {
        loss = loss.add_scalar(T::of(0.5 * (2.0 * std::f64::consts::PI).ln()));
    }
    reduction.apply_mean(loss)
}
