//! The model specs: names, shapes, errors, and every item of the table.

use super::*;
use gradus_spec::{Spec, Value};

#[test]
fn state_dict_names_follow_sequential() {
    let spec = ModelSpec::parse(
        "seq(conv2d(1, 4, 3, padding=1), batchnorm2d(4), relu, maxpool2d(2), flatten, dropout(0.25), linear(784, 10))",
    )
    .unwrap();
    let model = spec.build::<f32>(0);
    let mut names: Vec<String> = model.named_parameters().into_iter().map(|(n, _)| n).collect();
    names.extend(model.named_buffers().into_iter().map(|(n, _)| n));
    assert_eq!(
        names,
        [
            "0.weight",
            "0.bias",
            "1.weight",
            "1.bias",
            "6.weight",
            "6.bias",
            "1.running_mean",
            "1.running_var",
            "1.num_batches_tracked"
        ]
    );
    // Outputs per example: conv, batch norm and relu [4, 28, 28] each;
    // pool 784 (flatten and the dropout in evaluation share its storage);
    // linear 10.
    assert_eq!(spec.check(&model, &[28, 28], 10), Ok(3.0 * 3136.0 + 784.0 + 10.0));
}

#[test]
fn keys_and_positions_mean_the_same() {
    let a = ModelSpec::parse("seq(conv2d(1, 8, (3, 5), 2, same), flatten)");
    assert!(a.unwrap_err().message.contains("padding=same needs stride 1"));
    let a = ModelSpec::parse("seq(conv2d(in=1, out=8, kernel=(3, 5), stride=(1, 2), padding=(1, 2)))").unwrap();
    let b = ModelSpec::parse("seq(conv2d(1, 8, (3, 5), (1, 2), (1, 2)))").unwrap();
    assert_eq!(a, b);
}

#[test]
fn misfits_name_the_item_and_both_shapes() {
    let cases = [
        (
            "seq(conv2d(3, 8, 3), flatten, linear(5408, 10))",
            "item 0, conv2d(3, 8, 3): Conv2d needs [N, 3, H, W], got [N, 1, 28, 28]",
        ),
        (
            "seq(conv2d(1, 8, 3), flatten, linear(100, 10))",
            "item 2, linear(100, 10): Linear(100 -> 10) needs [N, 100], got [N, 5408]",
        ),
        ("seq(conv2d(1, 8, 3), relu)", "the model's output is [N, 8, 26, 26]"),
        ("seq(maxpool2d(2), maxpool2d(2), maxpool2d(2), maxpool2d(2), maxpool2d(2), flatten, linear(1, 10))", "item 4"),
        ("mlp(100, 16, 10)", "Linear(100 -> 16) needs [N, 100], got [N, 784]"),
        ("seq(linear(784, 10), batchnorm2d(10))", "BatchNorm2d(10) needs [N, 10, H, W], got [N, 10]"),
    ];
    for (text, want) in cases {
        let spec = ModelSpec::parse(text).unwrap();
        let got = spec.check(&spec.build::<f32>(0), &[28, 28], 10).unwrap_err();
        assert!(got.contains(want), "{text}: {got}");
    }
}

#[test]
fn bad_items_are_errors_naming_what_is_accepted() {
    let cases = [
        ("seq(conv3d(1, 2, 3))", "unknown item `conv3d`"),
        ("seq(conv2d(1, 2))", "`kernel` is required"),
        ("seq(conv2d(3, 4, 3, groups=2))", "groups=2 must divide in (3)"),
        ("seq(conv2d(1, 4, 3, padding=full))", "same or valid"),
        ("seq(conv2d(1, 4, 3, padding_mode=wrap))", "zeros, reflect, replicate, circular"),
        ("seq(maxpool2d(2, padding=2))", "at most half"),
        ("seq(dropout(1.5))", "[0, 1)"),
        ("seq(linear(0, 3))", "`in` must be positive"),
        ("seq(relu(2))", "too many positional arguments"),
        ("seq()", "at least one item"),
        ("seq(3)", "items are layers"),
        ("cnn(3)", "unknown model `cnn`"),
        ("seq(conv_transpose2d(2, 2, 3, output_padding=1))", "output_padding"),
    ];
    for (text, want) in cases {
        let e = ModelSpec::parse(text).unwrap_err().to_string();
        assert!(e.contains(want), "{text}: {e}");
    }
}

/// One spec per item of the table, small enough to build: each is built
/// in both element types, checked against 28 × 28 images (or against
/// `[N, 784]` when it starts flat), and its stored-value count from the
/// spec must equal the built model's.
const CASES: &[&str] = &[
    "seq(linear(784, 10, bias=false))",
    "seq(flatten(2), conv1d(1, 4, 3, padding=same, padding_mode=circular), flatten, linear(3136, 10))",
    "seq(conv2d(1, 4, 3, stride=2, groups=1), flatten, linear(676, 10))",
    "seq(conv_transpose2d(1, 2, 2, stride=2), maxpool2d(4), flatten, linear(392, 10))",
    "seq(avgpool2d(2), adaptive_avgpool2d(7), adaptive_maxpool2d((2, 3)), flatten, linear(6, 10))",
    "seq(dropout2d(0.1), flatten, dropout(0.2), linear(784, 10))",
    "seq(flatten(1), batchnorm1d(784), linear(784, 10))",
    "seq(conv2d(1, 4, 3), batchnorm2d(4, eps=1e-3, momentum=0.2), flatten, linear(2704, 10))",
    "seq(layernorm((28, 28)), rmsnorm(28, elementwise_affine=false), flatten, linear(784, 10))",
    "seq(layernorm(28, eps=0, elementwise_affine=true, bias=false), rmsnorm((1, 28, 28), eps=1e-6), flatten, linear(784, 10))",
    "seq(conv2d(1, 6, 3), groupnorm(3, 6), instancenorm2d(6, affine=true), instancenorm2d(6), flatten, linear(4056, 10))",
    "seq(flatten, linear(784, 12), relu, leaky_relu(0.1), prelu(12), sigmoid, tanh, silu, gelu(approximate=tanh), elu(0.5), selu, softplus(2, 10), mish, identity, linear(12, 10))",
    "seq(seq(conv2d(1, 2, 3), relu), res(conv2d(2, 2, 3, padding=1), shortcut=seq(identity)), flatten, linear(1352, 10))",
    "seq(flatten, reshape(28, 28), lstm(28, 6, num_layers=2, dropout=0.1, bidirectional=true), last_token, linear(12, 10))",
    "seq(flatten, reshape(28, 28), gru(28, 5, bias=false), mean_tokens, linear(5, 10))",
    "seq(flatten, embedding(256, 8, padding_idx=0), pos_embedding(784, 8), attention(8, 2, dropout=0.1, causal=true), transformer(8, 2, 16, activation=gelu, norm_first=true), transformer(8, 4, bias=false), mean_tokens, linear(8, 10))",
    "seq(conv2d(1, 4, 3, padding=1), repeat(2, res(conv2d(4, 4, 3, padding=1), batchnorm2d(4), relu)), flatten, linear(3136, 10))",
];

fn count_stored<T: Float>(model: &Sequential<T>) -> f64 {
    let p: usize = model.named_parameters().iter().map(|(_, p)| p.numel()).sum();
    let b: usize = model.named_buffers().iter().map(|(_, b)| b.value().numel()).sum();
    (p + b) as f64
}

/// The item names in a spec, nested ones included.
fn names_in(spec: &Spec, out: &mut Vec<String>) {
    out.push(spec.name.clone());
    for (_, v) in &spec.args {
        match v {
            Value::Spec(s) => names_in(s, out),
            Value::Word(w) => out.push(w.clone()),
            _ => {}
        }
    }
}

#[test]
fn every_item_has_a_case_that_builds_checks_and_counts() {
    let mut seen = Vec::new();
    for text in CASES {
        names_in(&text.parse::<Spec>().unwrap(), &mut seen);
        let spec = ModelSpec::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let (a, b) = (spec.build::<f32>(0), spec.build::<f64>(0));
        spec.check(&a, &[28, 28], 10).unwrap_or_else(|e| panic!("{e}"));
        spec.check(&b, &[28, 28], 10).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(spec.stored_values(), count_stored(&a), "{text}");
        assert_eq!(spec.stored_values(), count_stored(&b), "{text}");
    }
    let missing: Vec<&str> = item_names().into_iter().filter(|n| !seen.iter().any(|s| s == n)).collect();
    assert!(missing.is_empty(), "items without a case in CASES: {missing:?}");
}

#[test]
fn an_unknown_item_lists_every_item_of_the_table() {
    let e = ModelSpec::parse("seq(wobble)").unwrap_err().to_string();
    for name in item_names() {
        assert!(e.contains(name), "{name} missing from: {e}");
    }
}

#[test]
fn residual_and_repeat_names_nest_as_pytorch() {
    let spec = ModelSpec::parse(
        "seq(conv2d(1, 4, 3, padding=1), res(conv2d(4, 8, 3, stride=2, padding=1), batchnorm2d(8), relu, \
         shortcut=seq(conv2d(4, 8, 1, stride=2, bias=false), batchnorm2d(8))), repeat(2, res(conv2d(8, 8, 3, padding=1))), \
         adaptive_avgpool2d(1), flatten, linear(8, 10))",
    )
    .unwrap();
    let model = spec.build::<f64>(0);
    let names: Vec<String> = model.named_parameters().into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "0.weight",
            "0.bias",
            "1.body.0.weight",
            "1.body.0.bias",
            "1.body.1.weight",
            "1.body.1.bias",
            "1.shortcut.0.weight",
            "1.shortcut.1.weight",
            "1.shortcut.1.bias",
            "2.0.body.0.weight",
            "2.0.body.0.bias",
            "2.1.body.0.weight",
            "2.1.body.0.bias",
            "5.weight",
            "5.bias"
        ]
    );
    let buffers: Vec<String> = model.named_buffers().into_iter().map(|(n, _)| n).collect();
    assert_eq!(buffers[3], "1.shortcut.1.running_mean");
    // The copies of a repeat are initialised each on its own.
    let p = model.named_parameters();
    assert_ne!(p[9].1.value().to_vec(), p[11].1.value().to_vec());
    assert!(spec.check(&model, &[28, 28], 10).is_ok());
}

#[test]
fn bad_nested_specs_name_the_item_and_both_shapes() {
    let cases = [
        (
            "seq(conv2d(1, 4, 3, padding=1), res(conv2d(4, 8, 3, padding=1)), flatten, linear(6272, 10))",
            "item 1, res(conv2d(4, 8, 3, padding=1)): Residual's body gives [N, 8, 28, 28] and its shortcut [N, 4, 28, 28]",
        ),
        (
            "seq(conv2d(1, 4, 3, padding=1), res(conv2d(4, 4, 3, stride=2, padding=1), shortcut=conv2d(4, 4, 1)), flatten, linear(784, 10))",
            "body gives [N, 4, 14, 14] and its shortcut [N, 4, 28, 28]",
        ),
        (
            "seq(layernorm(27), flatten, linear(784, 10))",
            "item 0, layernorm(27): LayerNorm([27]) needs [N, …, 27], got [N, 1, 28, 28]",
        ),
        (
            "seq(conv2d(1, 4, 3), groupnorm(2, 6), flatten, linear(2704, 10))",
            "GroupNorm(2, 6) needs [N, 6, …], got [N, 4, 26, 26]",
        ),
        (
            "seq(repeat(2, res(linear(784, 10))), linear(10, 10))",
            "item 0, repeat(2, res(linear(784, 10))): item 0: Residual's body gives [N, 10]",
        ),
    ];
    for (text, want) in cases {
        let spec = ModelSpec::parse(text).unwrap();
        let got = spec.check(&spec.build::<f32>(0), &[28, 28], 10).unwrap_err();
        assert!(got.contains(want), "{text}:\n got {got}\nwant {want}");
    }
    let refused = [
        ("seq(groupnorm(4, 6))", "num_groups=4 must divide num_channels=6"),
        ("seq(repeat(0, relu))", "`n` must be a positive integer"),
        ("seq(repeat(2))", "`item` is required"),
        ("seq(res())", "needs at least one item"),
        ("seq(res(relu, shortcut=3))", "items are layers"),
        ("seq(layernorm((28, 0)))", "`shape` must be a positive integer below 10^9 or a tuple"),
        ("seq(layernorm(28, eps=-1))", "`eps` must be a finite non-negative number"),
        ("seq(rmsnorm(28, eps=nan))", "`eps`"),
        ("seq(instancenorm2d(0))", "`c` must be positive"),
        ("seq(res(relu, body=relu))", "unknown key `body`; accepted: shortcut"),
    ];
    for (text, want) in refused {
        let e = ModelSpec::parse(text).map(|_| ()).unwrap_err().to_string();
        assert!(e.contains(want), "{text}: {e}");
    }
}

#[test]
fn summary_equals_torchinfo_on_a_model_of_every_kind() {
    // torchinfo 1.8 on the same PyTorch module (a `Res` module with `body`
    // and `shortcut` attributes), input (1, 1, 28, 28):
    // Conv2d 80 params 62720 mult-adds, BatchNorm2d 16/16, Conv2d (no
    // bias) 576/451584, GroupNorm 16/16, Conv2d 1x1 72/56448, LayerNorm
    // 1568/1568, ConvTranspose2d 132/413952, Linear 125450/125450, PReLU
    // 1/1, RMSNorm 10/10; total params 127921, mult-adds 1.11 M.
    let spec = ModelSpec::parse(
        "seq(conv2d(1, 8, 3, padding=1), batchnorm2d(8), relu, \
         res(conv2d(8, 8, 3, padding=1, bias=false), groupnorm(2, 8), shortcut=conv2d(8, 8, 1)), \
         layernorm((28, 28)), conv_transpose2d(8, 4, 2, stride=2), flatten, linear(12544, 10), prelu, rmsnorm(10), identity)",
    )
    .unwrap();
    let s = Summary::of(&spec.build::<f32>(0), &[1, 28, 28]).unwrap();
    let rows: Vec<(&str, &str, usize, f64)> =
        s.rows.iter().map(|r| (r.name.as_str(), r.kind.as_str(), r.params, r.multiply_adds)).collect();
    assert_eq!(
        rows,
        [
            ("0", "Conv2d", 80, 62720.0),
            ("1", "BatchNorm2d", 16, 16.0),
            ("2", "Relu", 0, 0.0),
            ("3", "Residual", 664, 0.0),
            ("3.body", "Sequential", 592, 0.0),
            ("3.body.0", "Conv2d", 576, 451_584.0),
            ("3.body.1", "GroupNorm", 16, 16.0),
            ("3.shortcut", "Sequential", 72, 0.0),
            ("3.shortcut.0", "Conv2d", 72, 56448.0),
            ("4", "LayerNorm", 1568, 1568.0),
            ("5", "ConvTranspose2d", 132, 413_952.0),
            ("6", "Flatten", 0, 0.0),
            ("7", "Linear", 125_450, 125_450.0),
            ("8", "PRelu", 1, 1.0),
            ("9", "RMSNorm", 10, 10.0),
            ("10", "Identity", 0, 0.0),
        ]
    );
    assert_eq!(s.rows[10].output, [4, 56, 56]);
    assert_eq!(s.rows[5].output, [8, 28, 28]);
    assert_eq!((s.total_params, s.trainable_params), (127_921, 127_921));
    assert_eq!(s.multiply_adds, 1_111_765.0);
    assert_eq!(s.output, [10]);
}

#[test]
fn summary_of_attention_models_equals_torchinfo() {
    // torchinfo 1.8 on scripts/torch_items.py's modules, input (1, 1, 28,
    // 28): Embedding 2048 params / 2048 mult-adds, PosEmbedding 6272 /
    // 6272, total params 42338, total mult-adds 41506, attention's
    // out_proj not listed (PyTorch calls it as a function); gradus counts
    // those three projections (72 + 72 + 64).
    let text = "seq(flatten, embedding(256, 8, padding_idx=0), pos_embedding(784, 8), attention(8, 2, dropout=0.1, causal=true), transformer(8, 2, 16, activation=gelu, norm_first=true), transformer(8, 4, bias=false), mean_tokens, linear(8, 10))";
    let s = Summary::of(&ModelSpec::parse(text).unwrap().build::<f32>(0), &[1, 28, 28]).unwrap();
    assert_eq!((s.rows[1].params, s.rows[1].multiply_adds), (2048, 2048.0));
    assert_eq!((s.rows[2].params, s.rows[2].multiply_adds), (6272, 6272.0));
    assert_eq!((s.total_params, s.trainable_params), (42_338, 42_338));
    let out_proj: f64 = s.rows.iter().filter(|r| r.name.ends_with("out_proj")).map(|r| r.multiply_adds).sum();
    assert_eq!(out_proj, 208.0);
    assert_eq!(s.multiply_adds, 41_506.0 + out_proj);
}

#[test]
fn summary_of_recurrent_models_equals_torchinfo() {
    // torchinfo 1.8, input (1, 1, 28, 28) reshaped to (1, 28, 28): LSTM(28,
    // 128) 80896 params, 2265088 mult-adds; GRU(28, 32, num_layers=2,
    // bidirectional) 30720 / 860160; a recurrent layer counts every
    // parameter once a step.
    for (text, params, macs, head) in [
        ("seq(flatten, reshape(28, 28), lstm(28, 128), last_token, linear(128, 10))", 80_896, 2_265_088.0, 1290),
        (
            "seq(flatten, reshape(28, 28), gru(28, 32, num_layers=2, bidirectional=true), mean_tokens, linear(64, 10))",
            30_720,
            860_160.0,
            650,
        ),
    ] {
        let s = Summary::of(&ModelSpec::parse(text).unwrap().build::<f32>(0), &[1, 28, 28]).unwrap();
        assert_eq!((s.rows[2].params, s.rows[2].multiply_adds), (params, macs), "{text}");
        assert_eq!(s.rows[4].params, head, "{text}");
        assert_eq!(s.multiply_adds, macs + head as f64, "{text}");
    }
}
