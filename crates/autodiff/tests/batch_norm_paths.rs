//! `Var::batch_norm`'s two backward paths: the fused passes (an unrecorded
//! backward) and the rule in `Var` ops (a recorded one) give the same
//! gradients to rounding, in f64 and f32, and its value equals the
//! composite formula.

use gradus_autodiff::{GradOptions, Tape, Var, grad};
use gradus_tensor::Tensor;
use rand::SeedableRng;
use rand::rngs::StdRng;

fn compare<T: gradus_tensor::Float>(shape: &[usize], affine: bool, tol: f64) {
    let mut rng = StdRng::seed_from_u64(shape.iter().product::<usize>() as u64);
    let c = shape[1];
    let x0 = Tensor::<T>::uniform(shape, T::of(-2.0), T::of(3.0), &mut rng);
    let w0 = Tensor::<T>::uniform(&[c], T::of(0.5), T::of(1.5), &mut rng);
    let b0 = Tensor::<T>::uniform(&[c], T::of(-1.0), T::of(1.0), &mut rng);
    let cot = Tensor::<T>::uniform(shape, T::of(-1.0), T::of(1.0), &mut rng);
    let run = |create_graph: bool| {
        let tape = Tape::new();
        let (x, w, b) = (tape.leaf(x0.clone()), tape.leaf(w0.clone()), tape.leaf(b0.clone()));
        let (y, _, _) = if affine { x.batch_norm(Some(&w), Some(&b), 1e-5) } else { x.batch_norm(None, None, 1e-5) };
        let loss = y.mul(&Var::constant(cot.clone())).sum(.., false);
        let inputs: Vec<&Var<T>> = if affine { vec![&x, &w, &b] } else { vec![&x] };
        let opts = GradOptions { create_graph, ..Default::default() };
        let grads = grad(&[&loss], None, &inputs, opts).unwrap();
        (y.value().to_vec(), grads.into_iter().map(|g| g.unwrap().value().to_vec()).collect::<Vec<_>>())
    };
    let (y, fused) = run(false);
    let (_, recorded) = run(true);
    // The value against the composite formula.
    let x = Var::constant(x0.clone());
    let composite = x.normalize([0, 2], 1e-5);
    let composite = if affine {
        composite.mul(&Var::constant(w0.reshape(&[c as isize, 1]))).add(&Var::constant(b0.reshape(&[c as isize, 1])))
    } else {
        composite
    };
    let close = |a: &[T], b: &[T], what: &str| {
        for (i, (p, q)) in a.iter().zip(b).enumerate() {
            let (p, q) = (p.as_f64(), q.as_f64());
            assert!((p - q).abs() <= tol * (1.0 + q.abs()), "{shape:?} {what}[{i}]: {p} vs {q}");
        }
    };
    close(&y, &composite.value().to_vec(), "value");
    assert_eq!(fused.len(), recorded.len());
    for (k, (f, r)) in fused.iter().zip(&recorded).enumerate() {
        close(f, r, &format!("grad{k}"));
    }
}

#[test]
fn fused_and_recorded_gradients_agree() {
    for shape in [[4, 3, 5], [2, 5, 33], [16, 2, 1], [3, 4, 200]] {
        compare::<f64>(&shape, true, 1e-12);
        compare::<f64>(&shape, false, 1e-12);
        compare::<f32>(&shape, true, 2e-5);
    }
}

#[test]
fn large_batches_take_the_parallel_passes_with_the_same_results() {
    // Over the parallel threshold: channels and examples side by side.
    compare::<f64>(&[64, 8, 300], true, 1e-11);
    compare::<f32>(&[64, 8, 300], true, 1e-4);
}
