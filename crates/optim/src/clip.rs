//! Gradient clipping by global norm and by value.

use crate::platform::Float;

/// Scales all `grads` together so that their global p-norm is at most
/// `max_norm` (`torch.nn.utils.clip_grad_norm_`: coefficient
/// max_norm/(norm + 10⁻⁶), capped at 1) and returns the norm before
/// clipping. `norm_type` is p ≥ 1, or `f64::INFINITY` for the max norm.
///
/// ```
/// let (mut a, mut b) = (vec![3.0f64], vec![4.0f64]);
/// let norm = gradus_optim::clip_grad_norm(&mut [&mut a[..], &mut b[..]], 1.0, 2.0);
/// assert_eq!(norm, 5.0);
/// assert!((a[0] - 0.6).abs() < 1e-6 && (b[0] - 0.8).abs() < 1e-6);
/// ```
///
/// # Panics
/// If `max_norm` is negative or `norm_type` below 1.
pub fn clip_grad_norm<T: Float>(grads: &mut [&mut [T]], max_norm: f64, norm_type: f64) -> f64 {
    assert!(max_norm >= 0.0, "clip_grad_norm: max_norm must be >= 0, got {max_norm}");
    assert!(norm_type >= 1.0, "clip_grad_norm: norm_type must be >= 1, got {norm_type}");
    let total = if norm_type.is_infinite() {
        grads.iter().flat_map(|g| g.iter()).fold(0.0f64, |m, x| m.max(x.as_f64().abs()))
    } else {
        // The norm of the per-tensor norms, as PyTorch.
        let per: Vec<f64> = grads
            .iter()
            .map(|g| g.iter().map(|x| x.as_f64().abs().powf(norm_type)).sum::<f64>().powf(1.0 / norm_type))
            .collect();
        per.iter().map(|n| n.powf(norm_type)).sum::<f64>().powf(1.0 / norm_type)
    };
    let coef = (max_norm / (total + 1e-6)).min(1.0);
    let c = T::of(coef);
    for g in grads.iter_mut() {
        g.iter_mut().for_each(|x| *x *= c);
    }
    total
}

/// Clamps every gradient element into [−clip_value, clip_value]
/// (`torch.nn.utils.clip_grad_value_`).
///
/// # Panics
/// If `clip_value` is negative.
pub fn clip_grad_value<T: Float>(grads: &mut [&mut [T]], clip_value: f64) {
    assert!(clip_value >= 0.0, "clip_grad_value: clip_value must be >= 0, got {clip_value}");
    let (lo, hi) = (T::of(-clip_value), T::of(clip_value));
    for g in grads.iter_mut() {
        g.iter_mut().for_each(|x| *x = x.max(lo).min(hi));
    }
}
