//! LSTM and GRU against PyTorch in f64 (tests/data/pytorch_sequence.txt,
//! made by scripts/torch_sequence.py): outputs and the gradients of
//! sum(out · cot) with respect to the input and every parameter, to 1e-12.

mod common;

use gradus_nn::{CellKind, Recurrent};

#[test]
fn lstm_and_gru_equal_pytorch() {
    let r = common::reference(include_str!("data/pytorch_sequence.txt"));
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0);
    let mut cases: Vec<(String, Recurrent<f64>)> = Vec::new();
    for (name, kind) in [("lstm", CellKind::Lstm), ("gru", CellKind::Gru)] {
        let mut make =
            |i, h, layers, bias, bidirectional| Recurrent::new(kind, i, h, layers, bias, bidirectional, 0.0, &mut rng);
        cases.push((format!("{name}_one_layer"), make(3, 4, 1, true, false)));
        cases.push((format!("{name}_one_step"), make(2, 3, 1, true, false)));
        cases.push((format!("{name}_no_bias"), make(3, 2, 1, false, false)));
        cases.push((format!("{name}_two_layers_bidirectional"), make(3, 2, 2, true, true)));
    }
    let in_file = common::cases_in(&r);
    assert_eq!(in_file.len(), cases.len(), "every case in the file has a module here");
    for (case, module) in &cases {
        common::check(case, module, &r);
    }
}
