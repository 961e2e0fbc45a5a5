//! The L2 penalty λ·Σ‖W‖².

use gradus_autodiff::Var;
use gradus_tensor::Float;

/// λ·Σ‖W‖² over the named parameters whose last name part is `weight`:
/// weights, not biases (BatchNorm's γ is also named `weight`, as in
/// PyTorch; [`l2_penalty_where`] takes any filter). Add it to the loss; its
/// gradient is 2λW.
///
/// # Examples
/// ```
/// use gradus_autodiff::Tape;
/// use gradus_loss::l2_penalty;
/// use gradus_tensor::Tensor;
/// let tape = Tape::new();
/// let w = tape.leaf(Tensor::from_vec(vec![1.0f64, -2.0], &[2]).unwrap());
/// let b = tape.leaf(Tensor::from_vec(vec![5.0f64], &[1]).unwrap());
/// let params = vec![("0.weight".to_string(), w.clone()), ("0.bias".to_string(), b)];
/// assert_eq!(l2_penalty(0.1, &params).item(), 0.1 * 5.0);
/// ```
pub fn l2_penalty<T: Float>(lambda: T, params: &[(String, Var<T>)]) -> Var<T> {
    l2_penalty_where(lambda, params, |name| name.rsplit('.').next() == Some("weight"))
}

/// λ·Σ‖W‖² over the named parameters `keep` selects.
pub fn l2_penalty_where<T: Float>(lambda: T, params: &[(String, Var<T>)], keep: impl Fn(&str) -> bool) -> Var<T> {
    let mut total = Var::constant(gradus_tensor::Tensor::scalar(T::zero()));
    for (_, p) in params.iter().filter(|(name, _)| keep(name)) {
        total = &total + &p.square().sum(.., false);
    }
    total.mul_scalar(lambda)
}
