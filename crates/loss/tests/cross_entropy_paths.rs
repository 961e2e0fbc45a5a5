//! Cross-entropy against class indices takes a row-by-row path when its
//! backward pass is not recorded and the recorded rule (in tensor ops, so
//! differentiable again) when it is: both give the same gradient.

use gradus_autodiff::{GradOptions, Tape, grad};
use gradus_loss::{CrossEntropyOptions, Reduction, cross_entropy_with};
use gradus_tensor::Tensor;
use rand::{Rng, SeedableRng, rngs::StdRng};

fn both_paths(n: usize, c: usize, opts: &CrossEntropyOptions<f64>) -> (Vec<f64>, Vec<f64>) {
    let mut rng = StdRng::seed_from_u64(7);
    let z = Tensor::<f64>::normal(&[n, c], 0.0, 3.0, &mut rng);
    let y: Vec<usize> = (0..n).map(|_| rng.random_range(0..c)).collect();
    let y = Tensor::from_vec(y, &[n]).unwrap();
    let run = |create_graph: bool| {
        let tape = Tape::new();
        let x = tape.leaf(z.clone());
        let loss = cross_entropy_with(&x, &y, opts);
        let options = GradOptions { create_graph, ..GradOptions::default() };
        let seed = Tensor::ones(loss.shape());
        let g = grad(&[&loss], Some(&[seed]), &[&x], options).unwrap();
        g[0].as_ref().unwrap().value().to_vec()
    };
    (run(false), run(true))
}

#[test]
fn the_row_path_and_the_recorded_rule_agree() {
    let weight = Tensor::from_vec((0..7).map(|k| 0.5 + k as f64 * 0.25).collect(), &[7]).unwrap();
    for (smoothing, weighted, ignore, reduction) in [
        (0.0, false, None, Reduction::Mean),
        (0.1, true, Some(3), Reduction::Mean),
        (0.0, true, None, Reduction::Sum),
        (0.2, false, Some(0), Reduction::None),
    ] {
        let opts = CrossEntropyOptions {
            weight: weighted.then(|| weight.clone()),
            ignore_index: ignore,
            label_smoothing: smoothing,
            reduction,
        };
        // Large enough to split the rows across threads, and small.
        for (n, c) in [(20_000, 7), (5, 7)] {
            let (fast, recorded) = both_paths(n, c, &opts);
            for (a, b) in fast.iter().zip(&recorded) {
                assert!((a - b).abs() <= 1e-15 * (1.0 + b.abs()), "{smoothing} {weighted} {ignore:?}: {a} vs {b}");
            }
        }
    }
}

/// A −∞ logit off the target class is a probability of 0: the loss and its
/// gradient stay finite, as PyTorch's.
#[test]
fn minus_infinity_off_the_target_is_finite() {
    let tape = Tape::new();
    let x = tape.leaf(Tensor::from_vec(vec![1.0f32, f32::NEG_INFINITY, 0.5], &[1, 3]).unwrap());
    let y = Tensor::from_vec(vec![0usize], &[1]).unwrap();
    let loss = cross_entropy_with(&x, &y, &CrossEntropyOptions::reduction(Reduction::Mean));
    let want = (1.0f64.exp() + 0.5f64.exp()).ln() - 1.0;
    assert!((f64::from(loss.value().item()) - want).abs() < 1e-6, "{}", loss.value().item());
    let g = loss.backward().unwrap();
    let g = g.get(&x).unwrap().to_vec();
    assert!(g.iter().all(|v| v.is_finite()) && g[1] == 0.0, "{g:?}");
}
