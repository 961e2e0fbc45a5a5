//! Reference values from PyTorch, as the scripts under scripts/ write them
//! (`case key shape values…`, one array per line), and the check every
//! layer's reference test makes with them.

use gradus_autodiff::{Tape, Var};
use gradus_nn::Module;
use gradus_tensor::Tensor;
use std::collections::HashMap;

/// Arrays by (case, key).
pub type Reference = HashMap<(String, String), Tensor<f64>>;

/// Parses a reference file's text.
pub fn reference(text: &str) -> Reference {
    let mut out = HashMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let mut parts = line.splitn(4, ' ');
        let (case, key) = (parts.next().unwrap(), parts.next().unwrap());
        let shape: Vec<usize> = parts.next().unwrap().split(',').map(|s| s.parse().unwrap()).collect();
        let values: Vec<f64> = parts.next().unwrap().split(' ').map(|s| s.parse().unwrap()).collect();
        out.insert((case.to_string(), key.to_string()), Tensor::from_vec(values, &shape).unwrap());
    }
    out
}

/// Each element within 1e-12 of PyTorch's (relative beyond 1).
pub fn close(case: &str, what: &str, got: &Tensor<f64>, want: &Tensor<f64>) {
    assert_eq!(got.shape(), want.shape(), "{case} {what}");
    for (i, (a, b)) in got.to_vec().iter().zip(want.to_vec()).enumerate() {
        assert!((a - b).abs() <= 1e-12 * (1.0 + b.abs()), "{case} {what}[{i}]: {a} vs PyTorch's {b}");
    }
}

/// Sets the module's parameters from `input1`, … , runs it on `input0`,
/// and compares the output and the gradients of sum(out · cot) with
/// respect to the input and every parameter.
pub fn check(case: &str, module: &dyn Module<f64>, r: &Reference) {
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
    // Integer tokens have no gradient (no grad0 in the file).
    if let Some(want) = r.get(&(case.to_string(), "grad0".to_string())) {
        close(case, "grad0", grads.get(&x).unwrap(), want);
    }
    for (k, (name, p)) in params.iter().enumerate() {
        close(case, name, &p.grad(&tape, &grads).unwrap(), &get(&format!("grad{}", k + 1)));
    }
    assert!(!r.contains_key(&(case.to_string(), format!("input{}", params.len() + 1))), "{case}: parameters left over");
}

/// The cases a reference file holds.
pub fn cases_in(r: &Reference) -> std::collections::BTreeSet<&String> {
    r.keys().map(|(c, _)| c).collect()
}
