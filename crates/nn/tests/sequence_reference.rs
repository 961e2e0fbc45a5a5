//! LSTM and GRU against PyTorch in f64 (tests/data/pytorch_sequence.txt,
//! made by scripts/torch_sequence.py): outputs and the gradients of
//! sum(out · cot) with respect to the input and every parameter, to 1e-12.

use gradus_autodiff::{Tape, Var};
use gradus_nn::{CellKind, Module, Recurrent};
use gradus_tensor::Tensor;
use std::collections::HashMap;

type Reference = HashMap<(String, String), Tensor<f64>>;

fn reference() -> Reference {
    let mut out = HashMap::new();
    for line in include_str!("data/pytorch_sequence.txt").lines().filter(|l| !l.starts_with('#')) {
        let mut parts = line.splitn(4, ' ');
        let (case, key) = (parts.next().unwrap(), parts.next().unwrap());
        let shape: Vec<usize> = parts.next().unwrap().split(',').map(|s| s.parse().unwrap()).collect();
        let values: Vec<f64> = parts.next().unwrap().split(' ').map(|s| s.parse().unwrap()).collect();
        out.insert((case.to_string(), key.to_string()), Tensor::from_vec(values, &shape).unwrap());
    }
    out
}

fn close(case: &str, what: &str, got: &Tensor<f64>, want: &Tensor<f64>) {
    assert_eq!(got.shape(), want.shape(), "{case} {what}");
    for (i, (a, b)) in got.to_vec().iter().zip(want.to_vec()).enumerate() {
        assert!((a - b).abs() <= 1e-12 * (1.0 + b.abs()), "{case} {what}[{i}]: {a} vs PyTorch's {b}");
    }
}

fn check(case: &str, module: &dyn Module<f64>, r: &Reference) {
    let get = |k: &str| r.get(&(case.to_string(), k.to_string())).unwrap_or_else(|| panic!("{case} {k}")).clone();
    let params = module.named_parameters();
    for (k, (_, p)) in params.iter().enumerate() {
        p.set(get(&format!("input{}", k + 1)));
    }
    let tape = Tape::new();
    let x = tape.leaf(get("input0"));
    let y = module.forward(&tape, &x);
    close(case, "out", y.value(), &get("out"));
    let grads = y.mul(&Var::constant(get("cot"))).sum(.., false).backward().unwrap();
    close(case, "grad0", grads.get(&x).unwrap(), &get("grad0"));
    for (k, (name, p)) in params.iter().enumerate() {
        close(case, name, &p.grad(&tape, &grads).unwrap(), &get(&format!("grad{}", k + 1)));
    }
    assert!(!r.contains_key(&(case.to_string(), format!("input{}", params.len() + 1))), "{case}: parameters left over");
}

#[test]
fn lstm_and_gru_equal_pytorch() {
    let r = reference();
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
    let in_file: std::collections::BTreeSet<&String> = r.keys().map(|(c, _)| c).collect();
    assert_eq!(in_file.len(), cases.len(), "every case in the file has a module here");
    for (case, module) in &cases {
        check(case, module, &r);
    }
}
