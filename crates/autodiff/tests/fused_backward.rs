//! The activations whose backward pass is one fused pass over the
//! gradient and the output when it is not recorded give the bits of their
//! recorded rule (the one higher derivatives differentiate), on ordinary
//! values and on the edges: ±0, ±∞, NaN, the largest and the tiniest.

use gradus_autodiff::{GradOptions, Tape, Var, grad};
use gradus_tensor::Tensor;

fn values() -> Vec<f64> {
    let mut v = vec![0.0, -0.0, 1.0, -1.0, 0.5, -3.25, 20.0, -20.0, 1e-300, -1e-300, f64::MAX, f64::MIN];
    v.extend([f64::INFINITY, f64::NEG_INFINITY, f64::NAN, 5e-324]);
    v.extend((0..200).map(|i| (i as f64 - 100.0) * 0.173));
    v
}

/// The gradient of Σ c·f(x) with respect to x, with and without recording
/// the backward pass; c varies so the incoming gradient is not all ones.
fn both<F: Fn(&Var<f64>) -> Var<f64>>(f: F, x: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let n = x.len();
    let weights = Tensor::from_vec((0..n).map(|i| 0.25 + i as f64 * 0.01).collect(), &[n]).unwrap();
    let run = |create_graph: bool| {
        let tape = Tape::new();
        let xv = tape.leaf(Tensor::from_vec(x.to_vec(), &[n]).unwrap());
        let y = f(&xv).mul(&Var::constant(weights.clone())).sum(.., false);
        let opts = GradOptions { create_graph, ..Default::default() };
        grad(&[&y], None, &[&xv], opts).unwrap()[0].clone().unwrap().value().to_vec()
    };
    (run(false), run(true))
}

fn same_bits(name: &str, (fused, recorded): (Vec<f64>, Vec<f64>)) {
    assert_eq!(fused.len(), recorded.len());
    for (i, (a, b)) in fused.iter().zip(&recorded).enumerate() {
        assert!(a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()), "{name} at {i}: fused {a:e}, recorded {b:e}");
    }
}

#[test]
fn relu_tanh_and_sigmoid_fused_equal_recorded() {
    let x = values();
    same_bits("relu", both(|v| v.relu(), &x));
    same_bits("tanh", both(|v| v.tanh(), &x));
    same_bits("sigmoid", both(|v| v.sigmoid(), &x));
}

#[test]
fn relu_gradient_follows_threshold_backward() {
    // PyTorch: grad where the output is not ≤ 0, so 0 at z = 0 and at −0,
    // and the gradient itself (not 0) where the output is NaN.
    let x = [2.0, 0.0, -0.0, -1.0, f64::NAN];
    let (fused, recorded) = both(|v| v.relu(), &x);
    let w: Vec<f64> = (0..5).map(|i| 0.25 + i as f64 * 0.01).collect();
    assert_eq!(fused, vec![w[0], 0.0, 0.0, 0.0, w[4]]);
    assert_eq!(recorded, fused);
    let tape = Tape::new();
    let y = tape.leaf(Tensor::from_vec(x.to_vec(), &[5]).unwrap()).relu();
    let y = y.value().to_vec();
    assert_eq!(&y[..4], &[2.0, 0.0, 0.0, 0.0]);
    assert!(y[4].is_nan() && y[2].is_sign_positive());
}

#[test]
fn relu_second_derivative_is_zero_and_first_is_recorded() {
    // d/dx of (d/dx Σ relu(x)²) = 2·[x > 0]: the recorded rule carries it.
    let tape = Tape::new();
    let x = tape.leaf(Tensor::from_vec(vec![-1.5, 0.5, 2.0], &[3]).unwrap());
    let y = x.relu().square().sum(.., false);
    let opts = GradOptions { create_graph: true, ..Default::default() };
    let g = grad(&[&y], None, &[&x], opts).unwrap()[0].clone().unwrap();
    assert_eq!(g.value().to_vec(), vec![0.0, 1.0, 4.0]);
    let h = grad(&[&g.sum(.., false)], None, &[&x], opts).unwrap()[0].clone().unwrap();
    assert_eq!(h.value().to_vec(), vec![0.0, 2.0, 2.0]);
}
