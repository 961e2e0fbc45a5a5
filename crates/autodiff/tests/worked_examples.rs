//! The worked examples, exactly.

use gradus_autodiff::{GradOptions, Tape, Var, grad};
use gradus_tensor::{Tensor, assert_close};

fn t(v: &[f64], shape: &[usize]) -> Tensor<f64> {
    Tensor::from_slice(v, shape).unwrap()
}

#[test]
fn sum_times_z_at_both_points() {
    for ((x0, y0, z0), expected) in [((2.0, 3.0, -2.0), [-2.0, -2.0, 5.0]), ((-2.0, 5.0, -4.0), [-4.0, -4.0, 3.0])] {
        let tape = Tape::new();
        let (x, y, z) = (tape.leaf(Tensor::scalar(x0)), tape.leaf(Tensor::scalar(y0)), tape.leaf(Tensor::scalar(z0)));
        let f = (&x + &y) * &z;
        let g = f.backward().unwrap();
        let got = [g.get(&x).unwrap().item(), g.get(&y).unwrap().item(), g.get(&z).unwrap().item()];
        assert_eq!(got, expected);
    }
}

#[test]
fn gradient_of_logsumexp_is_softmax() {
    let tape = Tape::new();
    let v = tape.leaf(t(&[0.5, -1.0, 2.0], &[3]));
    let g = v.logsumexp(.., false).backward().unwrap();
    assert_close!(g.get(&v).unwrap().clone(), v.value().softmax(0), 1e-15, 0.0);
}

#[test]
fn sigmoid_layer_jacobian() {
    // h = sigmoid(Wx + b); ∂h/∂x = diag(h ⊙ (1 − h)) W.
    let w = t(&[-1.0, 1.0, 1.0, 1.0, -1.0, 1.0, 1.0, 1.0, -1.0, -1.0, -1.0, -1.0], &[4, 3]);
    let b = t(&[1.0, 1.0, 1.0, 1.0], &[4]);
    let expected = [-0.25, 0.25, 0.25, 0.01766271, -0.01766271, 0.01766271, 0.25, 0.25, -0.25, -0.25, -0.25, -0.25];
    let mut rows = Vec::new();
    for i in 0..4 {
        let tape = Tape::new();
        let x = tape.leaf(t(&[1.0, -1.0, 1.0], &[3]));
        let h = (Var::constant(w.clone()).matmul(&x) + Var::constant(b.clone())).sigmoid();
        let hi = h.narrow(0, i, 1).sum(.., false);
        rows.extend(hi.backward().unwrap().get(&x).unwrap().to_vec());
    }
    assert_close!(rows, expected, 1e-8, 0.0);
}

#[test]
fn linear_layer_value() {
    let w = Var::constant(t(&[1.0, 2.0, -1.0, -2.0, 3.0, 4.0, -3.0, 4.0], &[2, 4]));
    let x = Var::constant(t(&[1.0, 2.0, 3.0, 4.0], &[4]));
    let b = Var::constant(t(&[5.0, 6.0], &[2]));
    assert_eq!((w.matmul(&x) + b).value().to_vec(), vec![-1.0, 24.0]);
}

#[test]
fn second_and_third_derivatives_of_a_cubic() {
    let tape = Tape::new();
    let x = tape.leaf(Tensor::scalar(2.0f64));
    let y = x.powi(3).add(&x.square().mul_scalar(-4.0)); // x³ − 4x²
    let opts = GradOptions { create_graph: true, ..Default::default() };
    let d1 = grad(&[&y], None, &[&x], opts).unwrap().remove(0).unwrap(); // 3x² − 8x = −4
    let d2 = grad(&[&d1], None, &[&x], opts).unwrap().remove(0).unwrap(); // 6x − 8 = 4
    let d3 = grad(&[&d2], None, &[&x], opts).unwrap().remove(0).unwrap(); // 6
    assert_eq!((d1.item(), d2.item(), d3.item()), (-4.0, 4.0, 6.0));
}

#[test]
fn a_released_graph_cannot_be_walked_twice() {
    let tape = Tape::new();
    let x = tape.leaf(Tensor::scalar(1.5f32));
    let y = x.exp().mul(&x);
    y.backward().unwrap();
    let err = y.backward().unwrap_err().to_string();
    assert!(err.contains("released by an earlier backward pass"), "{err}");
    // With retain_graph, twice is fine and gives the same gradient.
    let tape = Tape::new();
    let x = tape.leaf(Tensor::scalar(1.5f32));
    let y = x.exp().mul(&x);
    let a = y.backward_with(None, true).unwrap().get(&x).unwrap().item();
    let b = y.backward().unwrap().get(&x).unwrap().item();
    assert_eq!(a, b);
}

#[test]
fn reuse_accumulates_and_no_grad_detach_stop_recording() {
    let tape = Tape::new();
    let x = tape.leaf(t(&[1.0, 2.0], &[2]));
    let y = (&x * &x + &x).sum(.., false); // 2x + 1
    assert_eq!(y.backward().unwrap().get(&x).unwrap().to_vec(), vec![3.0, 5.0]);
    let z = gradus_autodiff::no_grad(|| &x * &x);
    assert!(!z.requires_grad());
    let w = (&x.detach() * &x).sum(.., false); // only one factor tracked
    assert_eq!(w.backward().unwrap().get(&x).unwrap().to_vec(), vec![1.0, 2.0]);
    let c = Var::constant(t(&[1.0], &[1]));
    assert!(c.exp().backward().is_err());
}

#[test]
fn non_scalar_backward_needs_a_gradient() {
    let tape = Tape::new();
    let x = tape.leaf(t(&[1.0, 2.0], &[2]));
    let y = x.mul_scalar(3.0);
    assert!(y.backward().unwrap_err().to_string().contains("scalar"));
    let g = y.backward_with(Some(t(&[1.0, 10.0], &[2])), false).unwrap();
    assert_eq!(g.get(&x).unwrap().to_vec(), vec![3.0, 30.0]);
}

#[test]
fn anomaly_mode_names_the_op() {
    gradus_autodiff::set_anomaly_mode(true);
    let tape = Tape::new();
    let x = tape.leaf(t(&[0.0, 1.0], &[2]));
    let y = x.ln().sum(.., false);
    let err = y.backward().unwrap_err().to_string();
    gradus_autodiff::set_anomaly_mode(false);
    assert_eq!(err, "anomaly: forward of `ln` (inputs of shapes [[2]]) produced NaN or Inf");
}

#[test]
fn accumulation_in_place_leaves_shared_gradients_alone() {
    // y = x·w + x·w: the two uses' gradients add up, and the first
    // contribution's buffer (which the graph shares) must not be mutated.
    let tape = Tape::new();
    let x = tape.leaf(t(&[1.0, 2.0, 3.0], &[3]));
    let w = Var::constant(t(&[4.0, 5.0, 6.0], &[3]));
    let a = x.mul(&w);
    let y = a.add(&a).add(&x).sum(.., false);
    let g = y.backward().unwrap();
    assert_eq!(g.get(&x).unwrap().to_vec(), vec![9.0, 11.0, 13.0]);
    assert_eq!(w.value().to_vec(), vec![4.0, 5.0, 6.0]);
    assert_eq!(a.value().to_vec(), vec![4.0, 10.0, 18.0]);
}

#[test]
fn derivatives_at_the_kinks_follow_pytorch() {
    let at = |f: &dyn Fn(&Var<f64>) -> Var<f64>, points: &[f64]| {
        let tape = Tape::new();
        let x = tape.leaf(t(points, &[points.len()]));
        f(&x).sum(.., false).backward().unwrap().get(&x).unwrap().to_vec()
    };
    // torch: relu'(0) = 0, leaky_relu'(0) = slope, elu'(0) = alpha, abs'(0) = 0.
    assert_eq!(at(&|x| x.relu(), &[0.0]), vec![0.0]);
    assert_eq!(at(&|x| x.leaky_relu(0.1), &[0.0]), vec![0.1]);
    assert_eq!(at(&|x| x.elu(0.7), &[0.0, -1000.0, 1000.0]), vec![0.7, 0.0, 1.0]);
    assert_eq!(at(&|x| x.abs(), &[0.0]), vec![0.0]);
    // torch: clamp passes the gradient at the bounds, hardtanh does not.
    assert_eq!(at(&|x| x.clamp(-1.0, 1.0), &[-1.0, 0.5, 1.0, 2.0]), vec![1.0, 1.0, 1.0, 0.0]);
    assert_eq!(at(&|x| x.hardtanh(-1.0, 1.0), &[-1.0, 0.5, 1.0, 2.0]), vec![0.0, 1.0, 0.0, 0.0]);
    // torch: the 2-norm of a zero vector has gradient 0, not NaN.
    assert_eq!(at(&|x| x.norm(2.0, .., false), &[0.0, 0.0]), vec![0.0, 0.0]);
    assert_eq!(at(&|x| x.norm(2.0, .., false), &[3.0, 4.0]), vec![0.6, 0.8]);
    // torch.maximum splits the gradient at ties; max() shares it among ties.
    let tape = Tape::new();
    let a = tape.leaf(t(&[1.0, 2.0], &[2]));
    let b = tape.leaf(t(&[1.0, 3.0], &[2]));
    let g = a.maximum(&b).sum(.., false).backward().unwrap();
    assert_eq!((g.get(&a).unwrap().to_vec(), g.get(&b).unwrap().to_vec()), (vec![0.5, 0.0], vec![0.5, 1.0]));
    assert_eq!(at(&|x| x.max(.., false), &[2.0, 5.0, 5.0]), vec![0.0, 0.5, 0.5]);
}

#[test]
fn grad_with_respect_to_an_intermediate_value() {
    // q = x + y is an interior node: ∂f/∂q = z, and the walk past q still
    // reaches x. Gradients of interior nodes are moved into their rules, so
    // this checks that the ones asked for are kept.
    let tape = Tape::new();
    let (x, y, z) =
        (tape.leaf(Tensor::scalar(2.0f64)), tape.leaf(Tensor::scalar(3.0)), tape.leaf(Tensor::scalar(-2.0)));
    let q = &x + &y;
    let f = &q * &q * &z; // z·q², ∂f/∂q = 2zq = -20, ∂f/∂x = -20
    let g = grad(&[&f], None, &[&q, &x], GradOptions::default()).unwrap();
    assert_eq!(g[0].as_ref().unwrap().item(), -20.0);
    assert_eq!(g[1].as_ref().unwrap().item(), -20.0);
}

#[test]
fn gradients_count_and_remove() {
    let tape = Tape::new();
    let (x, y) = (tape.leaf(Tensor::scalar(2.0f64)), tape.leaf(Tensor::scalar(5.0)));
    let unused = tape.leaf(Tensor::scalar(1.0f64));
    let mut g = (&x * &y).backward().unwrap();
    assert_eq!(g.len(), 2);
    assert!(g.get(&unused).is_none());
    assert_eq!(g.remove(&x).unwrap().item(), 5.0);
    assert!(g.get(&x).is_none());
    assert_eq!(g.len(), 1);
}
