//! Cross-entropy and NLL over sequences: logits `[N, T, C]` against
//! targets `[N, T]` are every position as a sample, the same loss and
//! gradients as the rows `[N·T, C]`.

use gradus_autodiff::Tape;
use gradus_loss::{CrossEntropyOptions, Reduction, cross_entropy_with, nll_with};
use gradus_tensor::Tensor;

#[test]
fn a_sequence_is_its_positions_as_rows() {
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(4);
    let z = Tensor::<f64>::normal(&[2, 3, 5], 0.0, 2.0, &mut rng);
    let y = Tensor::from_vec(vec![0usize, 4, 2, 2, 1, 3], &[2, 3]).unwrap();
    for reduction in [Reduction::Mean, Reduction::Sum, Reduction::None] {
        let opts = CrossEntropyOptions {
            label_smoothing: 0.1,
            ignore_index: Some(2),
            ..CrossEntropyOptions::reduction(reduction)
        };
        let tape = Tape::new();
        let (seq, rows) = (tape.leaf(z.clone()), tape.leaf(z.reshape(&[6, 5])));
        let (a, b) = (cross_entropy_with(&seq, &y, &opts), cross_entropy_with(&rows, &y.reshape(&[6]), &opts));
        let expected_shape: &[usize] = if reduction == Reduction::None { &[2, 3] } else { &[] };
        assert_eq!(a.shape(), expected_shape);
        assert_eq!(a.value().to_vec(), b.value().to_vec());
        let g = (&a.sum(.., false) + &b.sum(.., false)).backward().unwrap();
        assert_eq!(g.get(&seq).unwrap().to_vec(), g.get(&rows).unwrap().to_vec());
        let nll_opts = CrossEntropyOptions { label_smoothing: 0.0, ..opts };
        let logp = seq.log_softmax(-1);
        let (c, d) = (nll_with(&logp, &y, &nll_opts), nll_with(&logp.reshape(&[6, 5]), &y.reshape(&[6]), &nll_opts));
        assert_eq!(c.value().to_vec(), d.value().to_vec());
    }
}

#[test]
#[should_panic(expected = "a class index per position")]
fn targets_of_the_wrong_shape_are_refused() {
    let z = Tape::new().leaf(Tensor::<f64>::zeros(&[2, 3, 5]));
    cross_entropy_with(&z, &Tensor::from_vec(vec![0usize, 1], &[2]).unwrap(), &CrossEntropyOptions::default());
}
