//! The dense-layer backprop formulas, written out by
//! hand for a 3-layer network, agree with the tape: δ = (Wᵀ_next δ_next) ⊙
//! σ'(z), ∂L/∂W = δ aᵀ, ∂L/∂b = δ summed over the batch.

use gradus_autodiff::{Tape, Var};
use gradus_tensor::{Tensor, assert_close};
use rand::SeedableRng;

#[test]
fn three_layer_network_gradients_match_the_formulas() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let sizes = [4, 5, 3, 2];
    let batch = 6;
    let x = Tensor::<f64>::normal(&[batch, sizes[0]], 0.0, 1.0, &mut rng);
    let y = Tensor::<f64>::normal(&[batch, sizes[3]], 0.0, 1.0, &mut rng);
    let ws: Vec<Tensor<f64>> = (0..3).map(|l| Tensor::normal(&[sizes[l + 1], sizes[l]], 0.0, 0.5, &mut rng)).collect();
    let bs: Vec<Tensor<f64>> = (0..3).map(|l| Tensor::normal(&[sizes[l + 1]], 0.0, 0.1, &mut rng)).collect();

    // The tape: a = σ(z), z = a_prev Wᵀ + b; linear output; L = ½‖ŷ − y‖² / batch.
    let tape = Tape::new();
    let w_vars: Vec<Var<f64>> = ws.iter().map(|w| tape.leaf(w.clone())).collect();
    let b_vars: Vec<Var<f64>> = bs.iter().map(|b| tape.leaf(b.clone())).collect();
    let mut a = Var::constant(x.clone());
    for l in 0..3 {
        let z = a.matmul(&w_vars[l].t()).add(&b_vars[l]);
        a = if l < 2 { z.sigmoid() } else { z };
    }
    let loss = a.sub(&Var::constant(y.clone())).square().sum(.., false).mul_scalar(0.5 / batch as f64);
    let grads = loss.backward().unwrap();

    // By hand.
    let mut acts = vec![x.clone()];
    for l in 0..3 {
        let z = acts[l].matmul(&ws[l].t()) + &bs[l];
        acts.push(if l < 2 { z.sigmoid() } else { z });
    }
    let mut delta = (&acts[3] - &y) / batch as f64; // ∂L/∂z at the linear output
    for l in (0..3).rev() {
        let dw = delta.t().matmul(&acts[l]); // δ aᵀ, summed over the batch
        let db = delta.sum(0, false);
        assert_close!(grads.get(&w_vars[l]).unwrap().clone(), dw, 1e-12, 1e-10);
        assert_close!(grads.get(&b_vars[l]).unwrap().clone(), db, 1e-12, 1e-10);
        if l > 0 {
            let sigma_prime = &acts[l] * &(1.0 - &acts[l]);
            delta = delta.matmul(&ws[l]) * sigma_prime; // (Wᵀ δ) ⊙ σ'(z)
        }
    }
}

/// A layer large enough that `linear`'s backward runs ∂L/∂x and ∂L/∂W side
/// by side (≥ 2²¹ multiply-adds) gives the formulas' gradients, and the same
/// ones as the recorded backward pass (create_graph), which runs them in turn.
#[test]
fn a_wide_linear_layer_gives_the_formulas_gradients_both_ways() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(12);
    let (batch, inputs, outputs) = (64, 256, 128);
    let x = Tensor::<f32>::normal(&[batch, inputs], 0.0, 1.0, &mut rng);
    let w = Tensor::<f32>::normal(&[outputs, inputs], 0.0, 0.1, &mut rng);
    let b = Tensor::<f32>::normal(&[outputs], 0.0, 0.1, &mut rng);
    let r = Tensor::<f32>::normal(&[batch, outputs], 0.0, 1.0, &mut rng);
    // L = Σ r ⊙ (x Wᵀ + b), so ∂L/∂y = r: ∂L/∂x = r W, ∂L/∂W = rᵀ x, ∂L/∂b = Σ_rows r.
    let (dx, dw, db) = (r.matmul(&w), r.t().matmul(&x), r.sum(0, false));
    for create_graph in [false, true] {
        let tape = Tape::new();
        let (xv, wv, bv) = (tape.leaf(x.clone()), tape.leaf(w.clone()), tape.leaf(b.clone()));
        let loss = xv.linear(&wv, Some(&bv)).mul(&Var::constant(r.clone())).sum(.., false);
        let options = gradus_autodiff::GradOptions { create_graph, ..Default::default() };
        let g = gradus_autodiff::grad(&[&loss], None, &[&xv, &wv, &bv], options).unwrap();
        let [gx, gw, gb] = [0, 1, 2].map(|i| g[i].as_ref().unwrap().value().clone());
        assert_close!(gx, dx.clone(), 1e-5, 1e-5);
        assert_close!(gw, dw.clone(), 1e-5, 1e-5);
        assert_close!(gb, db.clone(), 1e-5, 1e-5);
    }
}
