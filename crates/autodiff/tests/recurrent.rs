//! `Var::recurrent`'s two backward passes agree: the plain loops used when
//! the backward pass is not recorded, and the equations in `Var` ops used
//! when it is (second derivatives), on LSTM and GRU, forward and reverse,
//! with and without a bias.

use gradus_autodiff::{CellKind, GradOptions, Tape, grad};
use gradus_tensor::Tensor;
use rand::SeedableRng;

#[test]
fn the_fused_and_the_recorded_backward_passes_agree() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    for cell in [CellKind::Lstm, CellKind::Gru] {
        for (reverse, bias) in [(false, true), (true, false), (true, true)] {
            let (n, t, h) = (3, 5, 4);
            let g = cell.gates() * h;
            let p = Tensor::<f64>::uniform(&[t, n, g], -1.5, 1.5, &mut rng);
            let w = Tensor::<f64>::uniform(&[g, h], -0.8, 0.8, &mut rng);
            let b = Tensor::<f64>::uniform(&[g], -0.5, 0.5, &mut rng);
            let cot = Tensor::<f64>::uniform(&[t, n, h], -1.0, 1.0, &mut rng);
            let run = |create_graph: bool| {
                let tape = Tape::new();
                let (pv, wv, bv) = (tape.leaf(p.clone()), tape.leaf(w.clone()), tape.leaf(b.clone()));
                let y = pv.recurrent(cell, &wv, bias.then_some(&bv), reverse);
                let loss = y.mul(&gradus_autodiff::Var::constant(cot.clone())).sum(.., false);
                let opts = GradOptions { create_graph, allow_unused: true, ..Default::default() };
                let grads = grad(&[&loss], None, &[&pv, &wv, &bv], opts).unwrap();
                grads.into_iter().map(|g| g.map(|g| g.value().to_vec())).collect::<Vec<_>>()
            };
            let (fused, recorded) = (run(false), run(true));
            assert_eq!(fused[2].is_some(), bias);
            for (k, (a, b)) in fused.iter().zip(&recorded).enumerate() {
                let (a, b) = (a.clone().unwrap_or_default(), b.clone().unwrap_or_default());
                assert_eq!(a.len(), b.len());
                for (x, y) in a.iter().zip(&b) {
                    assert!(
                        (x - y).abs() <= 1e-13 * (1.0 + y.abs()),
                        "{cell:?} reverse={reverse} input {k}: {x} vs {y}"
                    );
                }
            }
        }
    }
}
