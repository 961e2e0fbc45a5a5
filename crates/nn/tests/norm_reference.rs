//! LayerNorm, RMSNorm, GroupNorm and InstanceNorm2d against PyTorch in f64
//! (tests/data/pytorch_norm.txt, made by scripts/pytorch_reference.py):
//! outputs and the gradients of sum(out · cot) with respect to the input
//! and each parameter, to 1e-12.

mod common;

use gradus_nn::{GroupNorm, InstanceNorm2d, LayerNorm, Module, RMSNorm};

#[test]
fn normalisation_layers_equal_pytorch() {
    let r = common::reference(include_str!("data/pytorch_norm.txt"));
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
    let in_file = common::cases_in(&r);
    assert_eq!(in_file.len(), cases.len(), "every case in the file has a module here");
    for (case, module) in &cases {
        common::check(case, module.as_ref(), &r);
    }
}
