//! Activations stay finite, in value and gradient, far out: ±1000 in f64
//! and ±80 in f32 (where a naive eˣ overflows).

use gradus_autodiff::{Tape, Var};
use gradus_tensor::{Float, Tensor};

/// An activation under test, by name.
type Named<T> = (&'static str, Box<dyn Fn(&Var<T>) -> Var<T>>);

fn activations<T: Float>() -> Vec<Named<T>> {
    vec![
        ("sigmoid", Box::new(|v| v.sigmoid())),
        ("tanh", Box::new(|v| v.tanh())),
        ("relu", Box::new(|v| v.relu())),
        ("leaky_relu", Box::new(|v| v.leaky_relu(T::of(0.01)))),
        ("prelu", Box::new(|v| v.prelu(&Var::constant(Tensor::scalar(T::of(0.25)))))),
        ("swish", Box::new(|v| v.swish(&Var::constant(Tensor::scalar(T::of(1.5)))))),
        ("silu", Box::new(|v| v.silu())),
        ("mish", Box::new(|v| v.mish())),
        ("gelu", Box::new(|v| v.gelu())),
        ("gelu_tanh", Box::new(|v| v.gelu_tanh())),
        ("softplus", Box::new(|v| v.softplus(T::one(), T::of(20.0)))),
        ("softplus_no_threshold", Box::new(|v| v.softplus(T::of(2.0), T::infinity()))),
        ("elu", Box::new(|v| v.elu(T::one()))),
        ("selu", Box::new(|v| v.selu())),
        ("logsigmoid", Box::new(|v| v.logsigmoid())),
        ("hardtanh", Box::new(|v| v.hardtanh(-T::one(), T::one()))),
        ("log_softmax", Box::new(|v| v.log_softmax(0))),
        ("softmax", Box::new(|v| v.softmax(0))),
        ("logsumexp", Box::new(|v| v.logsumexp(.., false))),
    ]
}

fn check<T: Float>(far: f64) {
    let points =
        Tensor::from_vec(vec![T::of(-far), T::of(-far / 2.0), T::zero(), T::of(far / 2.0), T::of(far)], &[5]).unwrap();
    for (name, f) in activations::<T>() {
        let tape = Tape::new();
        let x = tape.leaf(points.clone());
        let y = f(&x);
        assert!(y.value().isfinite().all(), "{name} at ±{far} in {}: value {}", T::DTYPE, y.value());
        let grads = y.sum(.., false).backward().unwrap();
        let g = grads.get(&x).unwrap();
        assert!(g.isfinite().all(), "{name} at ±{far} in {}: gradient {g}", T::DTYPE);
    }
}

#[test]
fn finite_at_plus_minus_1000_in_f64() {
    check::<f64>(1000.0);
}

#[test]
fn finite_at_plus_minus_80_in_f32() {
    check::<f32>(80.0);
}

#[test]
fn the_far_values_are_right() {
    let x = Var::constant(Tensor::from_vec(vec![-1000.0f64, 1000.0], &[2]).unwrap());
    assert_eq!(x.softplus(1.0, f64::INFINITY).value().to_vec(), vec![0.0, 1000.0]);
    assert_eq!(x.logsigmoid().value().to_vec(), vec![-1000.0, 0.0]);
    assert_eq!(x.sigmoid().value().to_vec(), vec![0.0, 1.0]);
    assert_eq!(x.elu(1.0).value().to_vec(), vec![-1.0, 1000.0]);
    assert_eq!(x.mish().value().to_vec(), vec![-0.0, 1000.0]);
}

/// NaN in, NaN out, as PyTorch: an activation that mapped NaN to a number
/// (ReLU written as `z > 0 ? z : 0`) would hide weights that went NaN.
#[test]
fn nan_propagates_through_every_activation() {
    for (name, f) in activations::<f64>() {
        let x = Var::constant(Tensor::from_vec(vec![f64::NAN, 1.0], &[2]).unwrap());
        let y = f(&x).value().to_vec();
        assert!(y[0].is_nan(), "{name}(NaN) = {}", y[0]);
    }
}
