//! Convolutions, pooling and padding against PyTorch in f64: values and
//! the gradients of Σ out · cot for every input, to 1e-12, on the cases
//! `scripts/pytorch_reference.py` writes to `tests/data/pytorch_conv.txt`
//! (odd sizes, stride > kernel, padding = kernel/2 with dilation 2, groups 2,
//! depthwise, `same` with an even kernel, every padding mode, transposed
//! convolutions with output padding, ceil mode with a partial last window,
//! count_include_pad off, divisor_override, max-pool ties).

use gradus_autodiff::{AvgPoolOptions, ConvOptions, ConvTransposeOptions, MaxPoolOptions, PadMode, Padding, Tape, Var};
use gradus_tensor::{Tensor, assert_close};
use std::collections::HashMap;

type Op = Box<dyn Fn(&[Var<f64>]) -> Var<f64>>;

fn reference() -> HashMap<String, HashMap<String, Tensor<f64>>> {
    let mut cases: HashMap<String, HashMap<String, Tensor<f64>>> = HashMap::new();
    for line in include_str!("data/pytorch_conv.txt").lines().filter(|l| !l.starts_with('#')) {
        let mut parts = line.splitn(4, ' ');
        let (case, key, shape, values) =
            (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
        let shape: Vec<usize> = shape.split(',').map(|s| s.parse().unwrap()).collect();
        let values: Vec<f64> = values.split(' ').map(|s| s.parse().unwrap()).collect();
        cases.entry(case.into()).or_default().insert(key.into(), Tensor::from_vec(values, &shape).unwrap());
    }
    cases
}

fn conv(stride: [usize; 2], padding: Padding<2>, dilation: [usize; 2], groups: usize) -> ConvOptions<2> {
    ConvOptions::default().stride(stride).padding(padding).dilation(dilation).groups(groups)
}

fn ops() -> Vec<(&'static str, Op)> {
    use Padding::{Explicit, Same};
    let mode_case = |mode: PadMode| -> Op {
        Box::new(move |v| {
            let o = conv([2, 1], Explicit([1, 2]), [1, 1], 1).padding_mode(mode);
            v[0].conv2d(&v[1], None, &o)
        })
    };
    let pad_case = |mode: PadMode, value: f64| -> Op { Box::new(move |v| v[0].pad(&[(2, 1), (1, 3)], mode, value)) };
    vec![
        ("conv2d_odd", Box::new(|v| v[0].conv2d(&v[1], Some(&v[2]), &conv([1, 1], Explicit([1, 0]), [1, 1], 1)))),
        ("conv2d_stride_gt_kernel", Box::new(|v| v[0].conv2d(&v[1], None, &conv([3, 4], Explicit([0, 0]), [1, 1], 1)))),
        ("conv2d_pad_dilation", Box::new(|v| v[0].conv2d(&v[1], None, &conv([1, 1], Explicit([2, 2]), [2, 2], 1)))),
        ("conv2d_groups2", Box::new(|v| v[0].conv2d(&v[1], Some(&v[2]), &conv([1, 1], Explicit([1, 1]), [1, 1], 2)))),
        ("conv2d_depthwise_same", Box::new(|v| v[0].conv2d(&v[1], None, &conv([1, 1], Same, [1, 1], 3)))),
        ("conv2d_same_even", Box::new(|v| v[0].conv2d(&v[1], None, &conv([1, 1], Same, [1, 2], 1)))),
        ("conv2d_reflect", mode_case(PadMode::Reflect)),
        ("conv2d_replicate", mode_case(PadMode::Replicate)),
        ("conv2d_circular", mode_case(PadMode::Circular)),
        (
            "conv1d",
            Box::new(|v| {
                let o = ConvOptions::default().stride([2]).padding(Explicit([1])).dilation([2]);
                v[0].conv1d(&v[1], Some(&v[2]), &o)
            }),
        ),
        (
            "conv1d_circular",
            Box::new(|v| {
                let o = ConvOptions::default().padding(Explicit([2])).padding_mode(PadMode::Circular);
                v[0].conv1d(&v[1], None, &o)
            }),
        ),
        (
            "conv_transpose2d",
            Box::new(|v| {
                let o = ConvTransposeOptions {
                    stride: [2, 2],
                    padding: [1, 1],
                    output_padding: [1, 1],
                    groups: 2,
                    dilation: [1, 1],
                };
                v[0].conv_transpose2d(&v[1], Some(&v[2]), &o)
            }),
        ),
        (
            "conv_transpose2d_dilation",
            Box::new(|v| {
                let o = ConvTransposeOptions {
                    stride: [1, 2],
                    output_padding: [0, 1],
                    dilation: [2, 2],
                    ..Default::default()
                };
                v[0].conv_transpose2d(&v[1], None, &o)
            }),
        ),
        (
            "max_pool2d_ceil",
            Box::new(|v| {
                v[0].max_pool2d(&MaxPoolOptions {
                    stride: Some([2, 2]),
                    padding: [1, 1],
                    ceil_mode: true,
                    ..MaxPoolOptions::new([3, 3])
                })
            }),
        ),
        (
            "max_pool2d_stride_dilation",
            Box::new(|v| {
                v[0].max_pool2d(&MaxPoolOptions {
                    stride: Some([3, 3]),
                    dilation: [2, 2],
                    ..MaxPoolOptions::new([2, 2])
                })
            }),
        ),
        (
            "max_pool2d_ties",
            Box::new(|v| {
                v[0].max_pool2d(&MaxPoolOptions {
                    stride: Some([1, 1]),
                    padding: [1, 1],
                    ..MaxPoolOptions::new([3, 3])
                })
            }),
        ),
        (
            "avg_pool2d_ceil",
            Box::new(|v| {
                v[0].avg_pool2d(&AvgPoolOptions {
                    stride: Some([2, 2]),
                    padding: [1, 1],
                    ceil_mode: true,
                    ..AvgPoolOptions::new([3, 3])
                })
            }),
        ),
        (
            "avg_pool2d_exclude_pad",
            Box::new(|v| {
                let o = AvgPoolOptions {
                    stride: Some([2, 2]),
                    padding: [1, 1],
                    ceil_mode: true,
                    count_include_pad: false,
                    ..AvgPoolOptions::new([2, 3])
                };
                v[0].avg_pool2d(&o)
            }),
        ),
        (
            "avg_pool2d_divisor",
            Box::new(|v| v[0].avg_pool2d(&AvgPoolOptions { divisor_override: Some(3), ..AvgPoolOptions::new([2, 2]) })),
        ),
        ("adaptive_avg_pool2d", Box::new(|v| v[0].adaptive_avg_pool2d([3, 2]))),
        ("adaptive_max_pool2d", Box::new(|v| v[0].adaptive_max_pool2d([3, 4]))),
        ("pad_constant", pad_case(PadMode::Constant, 0.5)),
        ("pad_reflect", pad_case(PadMode::Reflect, 0.0)),
        ("pad_replicate", pad_case(PadMode::Replicate, 0.0)),
        ("pad_circular", pad_case(PadMode::Circular, 0.0)),
    ]
}

#[test]
fn values_and_gradients_equal_pytorchs() {
    let reference = reference();
    let ops = ops();
    let mut names: Vec<&str> = reference.keys().map(String::as_str).collect();
    names.sort_unstable();
    let ours: Vec<&str> = ops.iter().map(|(n, _)| *n).collect();
    for n in &names {
        assert!(ours.contains(n), "reference case {n} has no op here");
    }
    for (name, f) in &ops {
        let case = reference.get(*name).unwrap_or_else(|| panic!("{name}: no reference values; rerun the script"));
        let tape = Tape::new();
        let inputs: Vec<Var<f64>> =
            (0..).map_while(|i| case.get(&format!("input{i}"))).map(|t| tape.leaf(t.clone())).collect();
        let out = f(&inputs);
        assert_eq!(out.shape(), case["out"].shape(), "{name}: output shape");
        assert_close!(out.value(), &case["out"], 1e-12, 1e-12);
        let grads = (&out * &Var::constant(case["cot"].clone())).sum(.., false).backward().unwrap();
        for (i, x) in inputs.iter().enumerate() {
            let g = grads.get(x).unwrap_or_else(|| panic!("{name}: no gradient for input {i}"));
            let want = &case[&format!("grad{i}")];
            if let Err(msg) = gradus_tensor::testing::close(&g.to_vec(), &want.to_vec(), 1e-12, 1e-12) {
                panic!("{name}: gradient of input {i}: {msg}");
            }
        }
    }
}

#[test]
fn the_tie_case_has_ties() {
    // Otherwise max_pool2d_ties would not test the tie rule.
    let ties = &reference()["max_pool2d_ties"]["input0"];
    let v = ties.to_vec();
    let distinct: std::collections::BTreeSet<i64> = v.iter().map(|&x| x as i64).collect();
    assert!(distinct.len() <= 4 && v.len() == 72);
}
