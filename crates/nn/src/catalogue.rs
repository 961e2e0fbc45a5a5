//! Gradient-check cases for every layer, with respect to its input and its
//! parameters (bound to the check's inputs with [`Param::bind`]), joined to
//! the ops' and losses' catalogues by `cargo xtask gradcheck`. A test fails
//! if a layer has no case.

use crate::*;
use gradus_autodiff::catalogue::{Case, Domain};
use gradus_autodiff::{AvgPoolOptions, ConvOptions, ConvTransposeOptions, MaxPoolOptions, PadMode, Padding, Tape, Var};
use gradus_tensor::Tensor;

/// The inputs' tape (a fresh one when the checker passes constants, to
/// learn the output's shape).
fn tape_of(v: &[Var<f64>]) -> Tape<f64> {
    v[0].tape().unwrap_or_default()
}

/// Binds each parameter of `module` (in visiting order) to the inputs from
/// `first` on, then runs the forward pass on input 0.
fn functional(module: &dyn Module<f64>, v: &[Var<f64>], first: usize) -> Var<f64> {
    let tape = tape_of(v);
    if v[0].requires_grad() {
        for (k, (_, p)) in module.named_parameters().into_iter().enumerate() {
            p.bind(&tape, &v[first + k]).expect("inputs share the tape");
        }
    }
    module.forward(&tape, &v[0])
}

/// Every layer case.
pub fn cases() -> Vec<Case> {
    use Domain::AwayFromZero as Any;
    let linear = Linear::<f64>::from_tensors(Tensor::zeros(&[2, 4]), Some(Tensor::zeros(&[2])));
    let no_bias = Linear::<f64>::from_tensors(Tensor::zeros(&[3, 4]), None);
    let bn = BatchNorm1d::<f64>::new(3);
    let bn3 = BatchNorm1d::<f64>::new(2);
    let prelu = PRelu::<f64>::new(3, 0.25);
    let swish = Swish::<f64>::new(1.0, true);
    let dropout = Dropout::seeded(0.4, 7);
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0);
    let layer_norm = LayerNorm::<f64>::new(&[2, 3]);
    let layer_norm_plain = LayerNorm::<f64>::with_options(&[3], 1e-3, false, false);
    let layer_norm_no_bias = LayerNorm::<f64>::with_options(&[3], 1e-5, true, false);
    let rms_norm = RMSNorm::<f64>::new(&[3]);
    let group_norm = GroupNorm::<f64>::new(3, 6);
    let instance_norm = InstanceNorm2d::<f64>::with_options(2, 1e-5, true);
    let residual = Residual::<f64>::with_shortcut(
        Sequential::new().append(Linear::from_tensors(Tensor::zeros(&[3, 3]), None)).append(Tanh),
        Sequential::new().append(Identity).append(Linear::from_tensors(Tensor::zeros(&[3, 3]), None)),
    );
    let residual_identity =
        Residual::<f64>::new(Sequential::new().append(LayerNorm::with_options(&[3], 1e-5, false, false)).append(Silu));
    let mlp: Sequential<f64> = Mlp::new(&[3, 4, 2]).activation(Activation::Tanh).build(&mut rng);
    let smooth = Sequential::<f64>::new()
        .append(Sigmoid)
        .append(Tanh)
        .append(Silu)
        .append(Mish)
        .append(Gelu { tanh_approximation: false })
        .append(Gelu { tanh_approximation: true })
        .append(Elu::default())
        .append(Selu)
        .append(Softplus::default())
        .append(LogSigmoid)
        .append(Softmax { axis: -1 })
        .append(LogSoftmax { axis: -1 });
    let kinked =
        Sequential::<f64>::new().append(Relu).append(LeakyRelu::default()).append(Hardtanh { min: -1.5, max: 1.5 });
    let conv2d = Conv2d::<f64>::from_tensors(
        Tensor::zeros(&[3, 2, 3, 2]),
        Some(Tensor::zeros(&[3])),
        ConvOptions::default().stride([2, 1]).padding(Padding::Explicit([1, 0])),
    );
    let conv1d = Conv1d::<f64>::from_tensors(
        Tensor::zeros(&[2, 1, 3]),
        None,
        ConvOptions::default().groups(2).padding(Padding::Same).padding_mode(PadMode::Reflect),
    );
    let mut rng2 = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(1);
    let opts = ConvTransposeOptions { stride: [2, 2], output_padding: [1, 0], ..Default::default() };
    let tconv = ConvTranspose2d::<f64>::new(2, 3, [2, 3], opts, true, &mut rng2).expect("valid layer");
    let bn2 = BatchNorm2d::<f64>::new(2);
    let pools = Sequential::<f64>::new()
        .append(MaxPool2d(MaxPoolOptions { stride: Some([1, 1]), ceil_mode: true, ..MaxPoolOptions::new([2, 2]) }))
        .append(Lambda::new(|x: &Var<f64>| x.square()))
        .append(AvgPool2d(AvgPoolOptions { padding: [1, 1], ..AvgPoolOptions::new([2, 2]) }));
    let adaptive = |x: &Var<f64>| {
        let a = Module::<f64>::forward(&AdaptiveAvgPool2d([2, 3]), &tape_of(std::slice::from_ref(x)), x);
        let m = Module::<f64>::forward(&AdaptiveMaxPool2d([2, 3]), &tape_of(std::slice::from_ref(x)), x);
        a.mul(&m)
    };
    let flatten = Sequential::<f64>::new().append(Flatten::default()).append(Lambda::new(|x: &Var<f64>| x.square()));
    let lstm = Recurrent::<f64>::new(CellKind::Lstm, 2, 2, 2, true, true, 0.0, &mut rng2);
    let gru = Recurrent::<f64>::new(CellKind::Gru, 3, 2, 1, true, false, 0.0, &mut rng2);
    let attention = MultiheadAttention::<f64>::new(4, 2, 0.0, true, true, &mut rng2);
    let opts = TransformerOptions {
        dim_feedforward: 3,
        dropout: 0.0,
        gelu: true,
        norm_first: true,
        causal: true,
        ..Default::default()
    };
    let pre_norm = TransformerLayer::<f64>::new(4, 2, opts, &mut rng2);
    let post_norm = TransformerLayer::<f64>::new(
        4,
        1,
        TransformerOptions { gelu: false, norm_first: false, causal: false, ..opts },
        &mut rng2,
    );
    let embedding = Embedding::<f64>::new(5, 3, Some(4), &mut rng2);
    let positions = PosEmbedding::<f64>::new(4, 3, &mut rng2);
    // The input's shape, then each parameter's in visiting order.
    let shapes = |m: &dyn Module<f64>, input: &[usize]| -> Vec<Vec<usize>> {
        std::iter::once(input.to_vec()).chain(m.named_parameters().iter().map(|(_, p)| p.shape())).collect()
    };
    let (lstm_shapes, gru_shapes) = (shapes(&lstm, &[2, 3, 2]), shapes(&gru, &[2, 3, 3]));
    let attention_shapes = shapes(&attention, &[2, 3, 4]);
    let (pre_shapes, post_shapes) = (shapes(&pre_norm, &[2, 3, 4]), shapes(&post_norm, &[1, 3, 4]));
    // Tokens are not differentiable: the table is input 0, bound to the
    // layer, and a fixed batch of tokens runs (not the padding row, whose
    // value counts but whose gradient is 0 by design).
    let looked_up = move |v: &[Var<f64>]| {
        let tape = tape_of(v);
        if v[0].requires_grad() {
            embedding.named_parameters()[0].1.bind(&tape, &v[0]).expect("inputs share the tape");
        }
        let tokens = Var::constant(Tensor::from_vec(vec![1.0, 0.0, 1.0, 0.0, 3.0, 2.0], &[2, 3]).unwrap());
        let rows = embedding.forward(&tape, &tokens);
        Module::<f64>::forward(&positions, &tape, &rows).square()
    };
    fn refs(v: &[Vec<usize>]) -> Vec<&[usize]> {
        v.iter().map(Vec::as_slice).collect()
    }
    let tokens = |x: &Var<f64>| {
        let tape = tape_of(std::slice::from_ref(x));
        let steps = Module::<f64>::forward(&Reshape(vec![3, 2]), &tape, x);
        let mean = Module::<f64>::forward(&MeanTokens, &tape, &steps);
        mean.mul(&Module::<f64>::forward(&LastToken, &tape, &steps))
    };
    vec![
        Case::new("Linear", &["Linear"], &[&[3, 4], &[2, 4], &[2]], Any, move |v| functional(&linear, v, 1)),
        Case::new("Linear without bias", &["Linear"], &[&[2, 4], &[3, 4]], Any, move |v| functional(&no_bias, v, 1)),
        Case::new("BatchNorm1d (training)", &["BatchNorm1d"], &[&[4, 3], &[3], &[3]], Any, move |v| {
            functional(&bn, v, 1)
        }),
        Case::new("BatchNorm1d [N, C, L]", &["BatchNorm1d"], &[&[2, 2, 3], &[2], &[2]], Any, move |v| {
            functional(&bn3, v, 1)
        }),
        Case::new("PRelu per channel", &["PRelu"], &[&[2, 3], &[3]], Any, move |v| functional(&prelu, v, 1)),
        Case::new("Swish learned β", &["Swish"], &[&[2, 3], &[]], Any, move |v| functional(&swish, v, 1)),
        Case::new("Dropout (fixed mask)", &["Dropout"], &[&[3, 4]], Any, move |v| {
            dropout.set_state((7, 0));
            Module::<f64>::forward(&dropout, &tape_of(v), &v[0])
        }),
        Case::new("Mlp 3-4-2 tanh", &["Mlp", "Sequential"], &[&[5, 3], &[4, 3], &[4], &[2, 4], &[2]], Any, move |v| {
            functional(&mlp, v, 1)
        }),
        Case::new(
            "smooth activation modules",
            &[
                "Sigmoid",
                "Tanh",
                "Silu",
                "Mish",
                "Gelu",
                "Elu",
                "Selu",
                "Softplus",
                "LogSigmoid",
                "Softmax",
                "LogSoftmax",
            ],
            &[&[2, 3]],
            Any,
            move |v| functional(&smooth, v, 1),
        ),
        Case::new(
            "piecewise-linear activation modules",
            &["Relu", "LeakyRelu", "Hardtanh"],
            &[&[2, 3]],
            Any,
            move |v| functional(&kinked, v, 1),
        )
        .first_order_only(),
        Case::new("Conv2d", &["Conv2d"], &[&[2, 2, 5, 4], &[3, 2, 3, 2], &[3]], Any, move |v| {
            functional(&conv2d, v, 1)
        }),
        Case::new("Conv1d depthwise reflect", &["Conv1d"], &[&[2, 2, 5], &[2, 1, 3]], Any, move |v| {
            functional(&conv1d, v, 1)
        }),
        Case::new("ConvTranspose2d", &["ConvTranspose2d"], &[&[1, 2, 3, 3], &[2, 3, 2, 3], &[3]], Any, move |v| {
            functional(&tconv, v, 1)
        }),
        Case::new("BatchNorm2d (training)", &["BatchNorm2d"], &[&[2, 2, 2, 3], &[2], &[2]], Any, move |v| {
            functional(&bn2, v, 1)
        }),
        Case::new("Dropout2d (fixed mask)", &["Dropout2d"], &[&[3, 4, 2, 2]], Any, |v| {
            // A fresh layer per call: the same seed, so the same mask.
            Module::<f64>::forward(&Dropout2d::seeded(0.5, 11), &tape_of(v), &v[0])
        }),
        Case::new("MaxPool2d and AvgPool2d", &["MaxPool2d", "AvgPool2d"], &[&[1, 2, 4, 5]], Any, move |v| {
            functional(&pools, v, 1)
        }),
        Case::new("adaptive pools", &["AdaptiveAvgPool2d", "AdaptiveMaxPool2d"], &[&[1, 2, 5, 7]], Any, move |v| {
            adaptive(&v[0])
        }),
        Case::new("LayerNorm over two dims", &["LayerNorm"], &[&[2, 2, 3], &[2, 3], &[2, 3]], Any, move |v| {
            functional(&layer_norm, v, 1)
        }),
        Case::new("LayerNorm without affine", &["LayerNorm"], &[&[4, 3]], Any, move |v| {
            functional(&layer_norm_plain, v, 1)
        }),
        Case::new("LayerNorm without bias", &["LayerNorm"], &[&[2, 3], &[3]], Any, move |v| {
            functional(&layer_norm_no_bias, v, 1)
        }),
        Case::new("RMSNorm", &["RMSNorm"], &[&[2, 2, 3], &[3]], Any, move |v| functional(&rms_norm, v, 1)),
        Case::new("GroupNorm 3 groups of 2", &["GroupNorm"], &[&[2, 6, 2], &[6], &[6]], Any, move |v| {
            functional(&group_norm, v, 1)
        }),
        Case::new("InstanceNorm2d affine", &["InstanceNorm2d"], &[&[2, 2, 2, 3], &[2], &[2]], Any, move |v| {
            functional(&instance_norm, v, 1)
        }),
        Case::new("Residual with a shortcut", &["Residual", "Identity"], &[&[2, 3], &[3, 3], &[3, 3]], Any, move |v| {
            functional(&residual, v, 1)
        }),
        Case::new("Residual identity shortcut", &["Residual"], &[&[2, 3]], Any, move |v| {
            functional(&residual_identity, v, 1)
        }),
        Case::new("Flatten and Lambda", &["Flatten", "Lambda"], &[&[2, 2, 3]], Any, move |v| {
            functional(&flatten, v, 1)
        }),
        Case::new("LSTM two layers bidirectional", &["Recurrent"], &refs(&lstm_shapes), Any, move |v| {
            functional(&lstm, v, 1)
        }),
        Case::new("GRU", &["Recurrent"], &refs(&gru_shapes), Any, move |v| functional(&gru, v, 1)),
        Case::new("MultiheadAttention causal", &["MultiheadAttention"], &refs(&attention_shapes), Any, move |v| {
            functional(&attention, v, 1)
        }),
        Case::new("TransformerLayer pre-norm GELU", &["TransformerLayer"], &refs(&pre_shapes), Any, move |v| {
            functional(&pre_norm, v, 1)
        }),
        Case::new("TransformerLayer post-norm ReLU", &["TransformerLayer"], &refs(&post_shapes), Any, move |v| {
            functional(&post_norm, v, 1)
        })
        .first_order_only(),
        Case::new("Embedding and PosEmbedding", &["Embedding", "PosEmbedding"], &[&[5, 3]], Any, looked_up),
        Case::new(
            "Reshape, MeanTokens and LastToken",
            &["Reshape", "MeanTokens", "LastToken"],
            &[&[2, 6]],
            Any,
            move |v| tokens(&v[0]),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Layer types, found in every source file of the crate: each type
    /// with an `impl Module<T> for` it, and the types the two layer macros
    /// define (`Relu => |x| …;` for activations, `Conv2d, 2, conv2d` for
    /// convolutions).
    fn layer_names() -> Vec<String> {
        layer_names_in(&gradus_autodiff::catalogue::sources_in(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        ))
    }

    fn layer_names_in(sources: &[String]) -> Vec<String> {
        let mut names = Vec::new();
        for src in sources {
            for line in src.lines().map(str::trim) {
                let name = line
                    .split_once("Module<T> for ")
                    .filter(|(head, _)| head.starts_with("impl"))
                    .map(|(_, rest)| rest)
                    .or_else(|| line.strip_suffix(';').and_then(|l| l.split_once(" => |x|")).map(|(n, _)| n))
                    .or_else(|| {
                        let parts: Vec<&str> = line.split(", ").collect();
                        (parts.len() == 3 && parts[1].parse::<usize>().is_ok() && parts[2].starts_with("conv"))
                            .then_some(parts[0])
                    });
                if let Some(n) = name {
                    names.push(n.split(['<', '(', ' ', ';', '{']).next().unwrap_or("").to_string());
                }
            }
        }
        names.retain(|n| !n.is_empty() && !n.starts_with('$') && n != "Box");
        names.sort();
        names.dedup();
        names
    }

    #[test]
    fn every_layer_has_a_case() {
        let covered: Vec<&str> = cases().iter().flat_map(|c| c.covers.iter().copied()).collect();
        let names = layer_names();
        assert!(names.len() >= 20, "the layer scan found too few: {names:?}");
        let missing: Vec<&String> = names.iter().filter(|n| !covered.contains(&n.as_str())).collect();
        assert!(missing.is_empty(), "layers without a gradcheck case in catalogue.rs: {missing:?}");
    }

    #[test]
    fn a_layer_without_a_case_is_found() {
        let new_file = "impl<T: Float> Module<T> for Wobble<T> {\n    fn forward(&self) {}\n}\n".to_string();
        let covered: Vec<&str> = cases().iter().flat_map(|c| c.covers.iter().copied()).collect();
        let names = layer_names_in(&[new_file]);
        assert_eq!(names, ["Wobble"]);
        assert!(!covered.contains(&"Wobble"));
    }

    #[test]
    fn bound_parameters_stand_in_for_the_layers_own() {
        // Otherwise the parameter inputs would be unused and pass vacuously.
        let cases = cases();
        let linear = &cases[0];
        let tape = Tape::new();
        let x = tape.leaf(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[1, 4]).unwrap());
        let w = tape.leaf(Tensor::from_vec(vec![1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0], &[2, 4]).unwrap());
        let b = tape.leaf(Tensor::from_vec(vec![10.0, 20.0], &[2]).unwrap());
        let y = (linear.f)(&[x, w.clone(), b]);
        assert_eq!(y.value().to_vec(), vec![11.0, 24.0]);
        assert!(y.sum(.., false).backward().unwrap().get(&w).is_some());
    }

    #[test]
    fn the_catalogue_passes() {
        let failures = gradus_autodiff::catalogue::failures(&cases(), 1);
        assert!(failures.is_empty(), "gradcheck failures:\n{}", failures.join("\n"));
    }
}
