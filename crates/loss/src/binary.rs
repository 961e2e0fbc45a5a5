//! Binary cross-entropy: from logits with a fused, stable rule, and on
//! probabilities with PyTorch's clamped logarithms.

use crate::Reduction;
use gradus_autodiff::Var;
use gradus_tensor::{Float, Tensor};

#[track_caller]
fn broadcast_weight<T: Float>(what: &str, name: &str, w: Option<&Tensor<T>>, shape: &[usize]) -> Tensor<T> {
    match w {
        None => Tensor::ones(shape),
        Some(w) => w.try_broadcast_to(shape).unwrap_or_else(|_| {
            panic!("{what}: {name} of shape {:?} does not broadcast to the input's {shape:?}", w.shape())
        }),
    }
}

/// Binary cross-entropy of σ(z) against targets y ∈ [0, 1], as
/// `torch.nn.functional.binary_cross_entropy_with_logits`:
/// l = −w[p·y·log σ(z) + (1 − y)·log(1 − σ(z))] with `weight` w and
/// `pos_weight` p (broadcast along the last dimension, one per class).
///
/// Fused and stable: computed as w[p·y·softplus(−z) + (1 − y)·softplus(z)],
/// finite at z = ±1000, with the closed-form rule
/// ∂l/∂z = w[(1 − y)σ(z) − p·y(1 − σ(z))] (σ(z) − y when w = p = 1).
///
/// # Examples
/// ```
/// use gradus_autodiff::Tape;
/// use gradus_loss::{Reduction, binary_cross_entropy_with_logits};
/// use gradus_tensor::Tensor;
/// let tape = Tape::new();
/// let z = tape.leaf(Tensor::from_vec(vec![1000.0f64, -1000.0], &[2]).unwrap());
/// let y = Tensor::from_vec(vec![0.0, 0.0], &[2]).unwrap();
/// let loss = binary_cross_entropy_with_logits(&z, &y, None, None, Reduction::Sum);
/// assert_eq!(loss.item(), 1000.0);
/// assert_eq!(loss.backward().unwrap().get(&z).unwrap().to_vec(), vec![1.0, 0.0]);
/// ```
///
/// # Panics
/// If targets differ in shape from the logits, or a weight does not broadcast.
#[track_caller]
pub fn binary_cross_entropy_with_logits<T: Float>(
    logits: &Var<T>,
    targets: &Tensor<T>,
    weight: Option<&Tensor<T>>,
    pos_weight: Option<&Tensor<T>>,
    reduction: Reduction,
) -> Var<T> {
    let what = "binary_cross_entropy_with_logits";
    let shape = logits.shape().to_vec();
    assert_eq!(targets.shape(), &shape[..], "{what}: targets of shape {:?} for logits {shape:?}", targets.shape());
    let w = broadcast_weight(what, "weight", weight, &shape);
    let p = broadcast_weight(what, "pos_weight", pos_weight, &shape);
    let z = logits.value();
    let neg_part = &(&p * targets) * &(-z).softplus();
    let pos_part = &targets.map(|v| T::one() - v) * &z.softplus();
    let per = &w * &(&neg_part + &pos_part);
    let numel = per.numel();
    let value = match reduction {
        Reduction::None => per,
        Reduction::Sum => per.sum(.., false),
        Reduction::Mean => &per.sum(.., false) * T::of(1.0 / numel as f64),
        Reduction::BatchMean => &per.sum(.., false) * T::of(1.0 / shape.first().copied().unwrap_or(1) as f64),
    };
    let scale = match reduction {
        Reduction::None | Reduction::Sum => 1.0,
        Reduction::Mean => 1.0 / numel as f64,
        Reduction::BatchMean => 1.0 / shape.first().copied().unwrap_or(1) as f64,
    };
    let (one_minus_y, py) = (targets.map(|v| T::one() - v), &p * targets);
    Var::custom("binary_cross_entropy_with_logits", value, &[logits], move |x, _, g| {
        let s = x[0].sigmoid();
        let one_minus_s = s.neg().add_scalar(T::one());
        let d = &(&s * &Var::constant(one_minus_y.clone())) - &(&one_minus_s * &Var::constant(py.clone()));
        let d = &d * &Var::constant(w.clone());
        vec![Some(&d * &g.mul_scalar(T::of(scale)))].into()
    })
}

/// Binary cross-entropy on probabilities x ∈ [0, 1], as
/// `torch.nn.functional.binary_cross_entropy`: l = −w[y·log x + (1 − y)·log(1 − x)]
/// with each log clamped to ≥ −100, and PyTorch's gradient
/// w(x − y)/max(x(1 − x), 10⁻¹²). Prefer the logits form: it is exact
/// where this one clamps.
///
/// # Panics
/// If shapes differ, the weight does not broadcast, or an input lies outside [0, 1].
#[track_caller]
pub fn binary_cross_entropy<T: Float>(
    probs: &Var<T>,
    targets: &Tensor<T>,
    weight: Option<&Tensor<T>>,
    reduction: Reduction,
) -> Var<T> {
    let what = "binary_cross_entropy";
    let shape = probs.shape().to_vec();
    assert_eq!(targets.shape(), &shape[..], "{what}: targets of shape {:?} for input {shape:?}", targets.shape());
    let x = probs.value();
    assert!(
        x.to_vec().iter().all(|v| (T::zero()..=T::one()).contains(v)),
        "{what}: every input must be a probability in [0, 1]"
    );
    let w = broadcast_weight(what, "weight", weight, &shape);
    let floor = T::of(-100.0);
    let log_x = x.map(|v| v.ln().max(floor));
    let log_1mx = x.map(|v| (T::one() - v).ln().max(floor));
    let per = -(&w * &(&(targets * &log_x) + &(&targets.map(|v| T::one() - v) * &log_1mx)));
    let numel = per.numel();
    let n = shape.first().copied().unwrap_or(1);
    let (value, scale) = match reduction {
        Reduction::None => (per, 1.0),
        Reduction::Sum => (per.sum(.., false), 1.0),
        Reduction::Mean => (&per.sum(.., false) * T::of(1.0 / numel as f64), 1.0 / numel as f64),
        Reduction::BatchMean => (&per.sum(.., false) * T::of(1.0 / n as f64), 1.0 / n as f64),
    };
    let y = targets.clone();
    Var::custom("binary_cross_entropy", value, &[probs], move |x, _, g| {
        let p = &x[0];
        let denom = (p * &p.neg().add_scalar(T::one())).clamp(T::of(1e-12), T::infinity());
        let d = &(&(p - &Var::constant(y.clone())) / &denom) * &Var::constant(w.clone());
        vec![Some(&d * &g.mul_scalar(T::of(scale)))].into()
    })
}
