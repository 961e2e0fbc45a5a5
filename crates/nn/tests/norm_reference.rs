//! LayerNorm, RMSNorm, GroupNorm and InstanceNorm2d against PyTorch in f64
//! (tests/data/pytorch_norm.txt, made by scripts/pytorch_reference.py):
//! outputs and the gradients of sum(out · cot) with respect to the input
//! and each parameter, to 1e-12.

use gradus_autodiff::{Tape, Var};
use gradus_nn::{GroupNorm, InstanceNorm2d, LayerNorm, Module, RMSNorm};
use gradus_tensor::Tensor;
use std::collections::HashMap;

fn reference() -> HashMap<(String, String), Tensor<f64>> {
    let mut out = HashMap::new();
    for line in include_str!("data/pytorch_norm.txt").lines().filter(|l| !l.starts_with('#')) {
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

/// Sets the module's parameters from `input1`, … , runs it on `input0`,
/// and compares the output and every gradient.
fn check(case: &str, module: &dyn Module<f64>, r: &HashMap<(String, String), Tensor<f64>>) {
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
fn normalisation_layers_equal_pytorch() {
    let r = reference();
    let cases: Vec<(&str, Box<dyn Module<f64>>)> = vec![
        ("layernorm_two_dims", Box::new(LayerNorm::new(&[2, 4]))),
        ("layernorm_no_affine", Box::new(LayerNorm::with_options(&[5], 1e-5, false, false))),
        ("layernorm_no_bias", Box::new(LayerNorm::with_options(&[3], 1e-5, true, false))),
        ("layernorm_eps_zero", Box::new(LayerNorm::with_options(&[4], 0.0, true, true))),
        ("layernorm_eps_large", Box::new(LayerNorm::with_options(&[4], 10.0, true, true))),
        ("rmsnorm_default_eps", Box::new(RMSNorm::new(&[4]))),
        ("rmsnorm_two_dims", Box::new(RMSNorm::with_options(&[2, 3], Some(1e-3), true))),
        ("rmsnorm_no_affine", Box::new(RMSNorm::with_options(&[5], Some(1e-6), false))),
        ("groupnorm_three_of_two", Box::new(GroupNorm::new(3, 6))),
        ("groupnorm_odd_groups", Box::new(GroupNorm::new(3, 9))),
        ("groupnorm_one_group", Box::new(GroupNorm::with_options(1, 4, 1e-2, false))),
        ("groupnorm_per_channel", Box::new(GroupNorm::new(5, 5))),
        ("instancenorm_affine", Box::new(InstanceNorm2d::with_options(3, 1e-5, true))),
        ("instancenorm_plain", Box::new(InstanceNorm2d::new(2))),
    ];
    let in_file: std::collections::BTreeSet<&String> = r.keys().map(|(c, _)| c).collect();
    assert_eq!(in_file.len(), cases.len(), "every case in the file has a module here");
    for (case, module) in &cases {
        check(case, module.as_ref(), &r);
    }
}
