//! The gradient-check catalogue: one case (or more) for every
//! differentiable op and activation, run by `cargo xtask gradcheck` and by
//! `cargo test`. A test fails if a public op in `src/ops/` has no case.

use crate::gradcheck::{self, Function, Report, Tolerance};
use crate::{AvgPoolOptions, ConvOptions, ConvTransposeOptions, MaxPoolOptions, PadMode, Padding, Var};
use gradus_tensor::Tensor;

/// Where a case's random inputs are drawn from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Domain {
    /// ±[0.2, 2] with random signs: away from the kinks at 0.
    AwayFromZero,
    /// [0.5, 2]: for ln, sqrt, powers with real exponents.
    Positive,
}

/// One gradient check: a function of some inputs and the ops it covers.
pub struct Case {
    /// Name in the report.
    pub name: &'static str,
    /// The public `Var` methods the case exercises.
    pub covers: &'static [&'static str],
    /// Input shapes.
    pub shapes: Vec<Vec<usize>>,
    /// Input domain.
    pub domain: Domain,
    /// The function checked.
    pub f: Box<Function<'static>>,
    /// Tolerances (PyTorch's defaults unless a case needs otherwise).
    pub tol: Tolerance,
    /// Whether the second order is checked too (off where the function is
    /// piecewise linear or its second derivative does not exist).
    pub second_order: bool,
}

/// The result of one case at both orders.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The case's name.
    pub name: &'static str,
    /// Its input shapes.
    pub shapes: Vec<Vec<usize>>,
    /// First-order report.
    pub first: Report,
    /// Second-order report, when the case checks it.
    pub second: Option<Report>,
}

impl Outcome {
    /// Whether every order checked passed.
    pub fn passed(&self) -> bool {
        self.first.passed && self.second.as_ref().is_none_or(|r| r.passed)
    }
}

impl Case {
    /// Runs the first- and second-order checks on inputs drawn from `seed`.
    ///
    /// # Errors
    /// If a backward pass fails.
    pub fn run(&self, seed: u64) -> crate::Result<Outcome> {
        let (low, high, positive) = match self.domain {
            Domain::AwayFromZero => (0.2, 2.0, false),
            Domain::Positive => (0.5, 2.0, true),
        };
        let inputs = gradcheck::random_inputs(&self.shapes, low, high, positive, seed);
        Ok(Outcome {
            name: self.name,
            shapes: self.shapes.clone(),
            first: gradcheck::gradcheck(&*self.f, &inputs, self.tol)?,
            second: match self.second_order {
                true => Some(gradcheck::gradgradcheck(&*self.f, &inputs, self.tol, seed ^ 0x5eed)?),
                false => None,
            },
        })
    }

    /// A case checking `f` at first and second order with PyTorch's
    /// tolerances; other crates add their layers and losses with it.
    pub fn new(
        name: &'static str,
        covers: &'static [&'static str],
        shapes: &[&[usize]],
        domain: Domain,
        f: impl Fn(&[Var<f64>]) -> Var<f64> + 'static,
    ) -> Case {
        Case {
            name,
            covers,
            shapes: shapes.iter().map(|s| s.to_vec()).collect(),
            domain,
            f: Box::new(f),
            tol: Tolerance::default(),
            second_order: true,
        }
    }

    /// Checks the first order only.
    #[must_use]
    pub fn first_order_only(mut self) -> Case {
        self.second_order = false;
        self
    }
}

/// The public functions in `sources` that no case in `cases` lists in its
/// `covers`: what a crate's "every op is checked" test asserts is empty.
/// Counted are free `pub fn`s and the `pub fn`s of `impl` blocks on `Var`;
/// methods of other types (an options builder) are not ops.
pub fn uncovered(sources: &[&str], cases: &[Case]) -> Vec<String> {
    let covered: Vec<&str> = cases.iter().flat_map(|c| c.covers.iter().copied()).collect();
    let mut names = Vec::new();
    for src in sources {
        // Whether the lines are inside an `impl` block, and whether it is on `Var`.
        let mut block: Option<bool> = None;
        for line in src.lines() {
            if line.starts_with("impl") {
                block = Some(line.contains("Var<"));
            } else if line.starts_with('}') {
                block = None;
            }
            if block == Some(false) {
                continue;
            }
            if let Some(rest) = line.trim().strip_prefix("pub fn ") {
                names.push(rest.split(['(', '<']).next().unwrap_or("").to_string());
            }
        }
    }
    names.retain(|name| !covered.contains(&name.as_str()));
    names
}

/// The text of every `.rs` file under `dir`, sorted by path: the sources a
/// coverage test scans, found rather than listed, so a new file cannot be
/// missed.
///
/// # Panics
/// If the directory cannot be read.
pub fn sources_in(dir: &std::path::Path) -> Vec<String> {
    let mut paths = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                paths.push(path);
            }
        }
    }
    paths.sort();
    paths.iter().map(|p| std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).collect()
}

/// Runs every case at `seed` and describes each failure (name and both
/// orders' reports): what a crate's "the catalogue passes" test asserts is
/// empty.
///
/// # Panics
/// If a backward pass fails.
pub fn failures(cases: &[Case], seed: u64) -> Vec<String> {
    cases
        .iter()
        .map(|c| c.run(seed).expect("backward runs"))
        .filter(|o| !o.passed())
        .map(|o| format!("{}: first order {}; second order {:?}", o.name, o.first, o.second))
        .collect()
}

fn idx(v: &[usize], shape: &[usize]) -> Tensor<usize> {
    Tensor::from_slice(v, shape).expect("catalogue index shapes")
}

/// Every case of this crate.
pub fn cases() -> Vec<Case> {
    use Domain::{AwayFromZero as Any, Positive as Pos};
    vec![
        // Element-wise arithmetic, broadcasting in both directions.
        Case::new("add", &["add", "sum_to"], &[&[2, 3], &[3]], Any, |v| v[0].add(&v[1])),
        Case::new("sub", &["sub"], &[&[2, 1], &[1, 3]], Any, |v| v[0].sub(&v[1])),
        Case::new("mul", &["mul"], &[&[2, 3], &[2, 1]], Any, |v| v[0].mul(&v[1])),
        Case::new("div", &["div"], &[&[3], &[2, 3]], Any, |v| v[0].div(&v[1])),
        Case::new("scalars", &["add_scalar", "mul_scalar", "neg"], &[&[4]], Any, |v| {
            v[0].add_scalar(1.5).mul_scalar(-2.0).neg()
        }),
        Case::new("exp", &["exp"], &[&[2, 2]], Any, |v| v[0].exp()),
        Case::new("ln", &["ln"], &[&[2, 2]], Pos, |v| v[0].ln()),
        Case::new("log1p", &["log1p"], &[&[3]], Pos, |v| v[0].log1p()),
        Case::new("expm1", &["expm1"], &[&[3]], Any, |v| v[0].expm1()),
        Case::new("sqrt", &["sqrt"], &[&[3]], Pos, |v| v[0].sqrt()),
        Case::new("square", &["square"], &[&[3]], Any, |v| v[0].square()),
        Case::new("recip", &["recip"], &[&[3]], Any, |v| v[0].recip()),
        Case::new("powi", &["powi"], &[&[3]], Any, |v| v[0].powi(3).add(&v[0].powi(-2))),
        Case::new("powf", &["powf"], &[&[3]], Pos, |v| v[0].powf(1.7)),
        Case::new("pow", &["pow"], &[&[2, 2], &[2]], Pos, |v| v[0].pow(&v[1])),
        Case::new("abs", &["abs"], &[&[4]], Any, |v| v[0].abs()),
        Case::new("sin_cos", &["sin", "cos"], &[&[3]], Any, |v| v[0].sin().mul(&v[0].cos())),
        Case::new("tanh", &["tanh"], &[&[3]], Any, |v| v[0].tanh()),
        Case::new("sigmoid", &["sigmoid"], &[&[3]], Any, |v| v[0].sigmoid()),
        Case::new("erf", &["erf"], &[&[3]], Any, |v| v[0].erf()),
        Case::new("clamp", &["clamp"], &[&[5]], Any, |v| v[0].clamp(-1.0, 1.0)),
        Case::new("maximum", &["maximum"], &[&[2, 3], &[3]], Any, |v| v[0].maximum(&v[1])),
        Case::new("minimum", &["minimum"], &[&[2, 3], &[2, 1]], Any, |v| v[0].minimum(&v[1])),
        Case::new("where", &["select"], &[&[2, 3], &[3]], Any, |v| {
            let mask = Tensor::from_vec(vec![true, false, true, false, false, true], &[2, 3]).expect("mask");
            Var::select(&mask, &v[0], &v[1])
        }),
        // Reductions.
        // Normalisation: over one axis, two trailing axes, a middle one.
        Case::new("normalize", &["normalize"], &[&[3, 4]], Any, |v| v[0].normalize(1, 1e-5).mul(&v[0])),
        Case::new("normalize_2d", &["normalize"], &[&[2, 3, 2]], Any, |v| v[0].normalize([1, 2], 0.1).sin()),
        Case::new("normalize_group", &["normalize"], &[&[2, 3, 2]], Any, |v| v[0].normalize([0, 2], 1e-3).cos()),
        Case::new("batch_norm", &["batch_norm"], &[&[3, 2, 4], &[2], &[2]], Any, |v| {
            v[0].batch_norm(Some(&v[1]), Some(&v[2]), 1e-5).0
        }),
        Case::new("batch_norm without affine", &["batch_norm"], &[&[2, 3, 2]], Any, |v| {
            v[0].batch_norm(None, None, 0.1).0.sin()
        }),
        Case::new("rms_normalize", &["rms_normalize"], &[&[2, 3]], Any, |v| v[0].rms_normalize(-1, 1e-6).mul(&v[0])),
        Case::new("rms_normalize_2d", &["rms_normalize"], &[&[2, 2, 3]], Any, |v| {
            v[0].rms_normalize([1, 2], 0.5).sin()
        }),
        Case::new("sum", &["sum"], &[&[2, 3, 2]], Any, |v| v[0].sum([0, 2], false)),
        Case::new("mean", &["mean"], &[&[2, 3]], Any, |v| v[0].mean(-1, true)),
        Case::new("var", &["var"], &[&[3, 4]], Any, |v| v[0].var(1, 1, false)),
        Case::new("max", &["max"], &[&[3, 4]], Any, |v| v[0].max(0, false)),
        Case::new("min", &["min"], &[&[3, 4]], Any, |v| v[0].min(.., false)),
        Case::new("logsumexp", &["logsumexp"], &[&[2, 4]], Any, |v| v[0].logsumexp(-1, false)),
        Case::new("norm", &["norm"], &[&[2, 3]], Any, |v| {
            let p2 = v[0].norm(2.0, -1, false);
            let p1 = v[0].norm(1.0, 0, false).sum(.., true).reshape(&[1]);
            let p3 = v[0].norm(3.0, .., true).reshape(&[1]);
            Var::concat(&[p2, p1, p3], 0)
        }),
        Case::new("norm_inf", &["norm"], &[&[5]], Any, |v| v[0].norm(f64::INFINITY, .., false)),
        // Shapes.
        Case::new("reshape", &["reshape", "flatten"], &[&[2, 3]], Any, |v| {
            v[0].reshape(&[3, -1]).flatten().mul(&v[0].flatten())
        }),
        Case::new("transpose", &["transpose", "t"], &[&[2, 3, 4]], Any, |v| {
            v[0].transpose(0, 2).mul(&v[0].t().transpose(0, 1).transpose(1, 2))
        }),
        Case::new("permute", &["permute"], &[&[2, 3, 4]], Any, |v| v[0].permute(&[1, 2, 0]).square()),
        Case::new("narrow", &["narrow"], &[&[4, 3]], Any, |v| v[0].narrow(0, 1, 2).square()),
        Case::new("broadcast", &["broadcast_to", "expand"], &[&[3, 1]], Any, |v| {
            v[0].broadcast_to(&[2, 3, 4]).mul(&v[0].expand(&[3, 4]))
        }),
        Case::new("squeeze", &["squeeze", "unsqueeze"], &[&[3, 1]], Any, |v| v[0].squeeze(None).unsqueeze(0).square()),
        Case::new("concat_stack", &["concat", "stack"], &[&[2, 3], &[2, 3]], Any, |v| {
            Var::concat(&[v[0].clone(), v[1].square()], 0)
                .mul(&Var::stack(&[v[1].clone(), v[0].clone()], 0).reshape(&[4, 3]))
        }),
        Case::new("index_select", &["index_select"], &[&[4, 3]], Any, |v| {
            v[0].index_select(0, &idx(&[3, 0, 3], &[3])).square()
        }),
        Case::new("gather", &["gather"], &[&[3, 4]], Any, |v| {
            v[0].gather(1, &idx(&[0, 3, 1, 1, 2, 0], &[3, 2])).square()
        }),
        Case::new("scatter_add", &["scatter_add"], &[&[2, 4], &[2, 3]], Any, |v| {
            v[0].scatter_add(1, &idx(&[0, 3, 0, 1, 2, 2], &[2, 3]), &v[1].square())
        }),
        // Matrix products.
        Case::new("matmul", &["matmul"], &[&[3, 4], &[4, 2]], Any, |v| v[0].matmul(&v[1])),
        Case::new("linear", &["linear"], &[&[3, 4], &[2, 4], &[2]], Any, |v| v[0].linear(&v[1], Some(&v[2]))),
        Case::new("linear_no_bias", &["linear"], &[&[3, 4], &[2, 4]], Any, |v| v[0].linear(&v[1], None)),
        Case::new("matmul_batched", &["matmul"], &[&[2, 1, 2, 3], &[3, 3, 2]], Any, |v| v[0].matmul(&v[1])),
        Case::new("matmul_vector", &["matmul"], &[&[3], &[3, 2]], Any, |v| {
            v[0].matmul(&v[1]).matmul(&v[1].t().narrow(1, 0, 1).squeeze(None).narrow(0, 0, 2))
        }),
        // Recurrences (the unrecorded pass is held to the recorded one too:
        // tests/recurrent.rs).
        Case::new("recurrent_lstm", &["recurrent"], &[&[2, 3, 8], &[8, 2], &[8]], Any, |v| {
            v[0].recurrent(crate::CellKind::Lstm, &v[1], Some(&v[2]), false)
        }),
        Case::new("recurrent_gru_reverse", &["recurrent"], &[&[2, 3, 6], &[6, 2]], Any, |v| {
            v[0].recurrent(crate::CellKind::Gru, &v[1], None, true)
        }),
        Case::new("recurrent_gru", &["recurrent"], &[&[1, 4, 6], &[6, 2], &[6]], Any, |v| {
            v[0].recurrent(crate::CellKind::Gru, &v[1], Some(&v[2]), false)
        }),
        // Attention (the causal mask offset when keys outnumber queries).
        Case::new("attention", &["attention"], &[&[2, 3, 4], &[2, 3, 4], &[2, 3, 2]], Any, |v| {
            v[0].attention(&v[1], &v[2], false, None)
        }),
        Case::new("attention_causal", &["attention"], &[&[2, 1, 2, 3], &[2, 1, 4, 3], &[2, 1, 4, 2]], Any, |v| {
            v[0].attention(&v[1], &v[2], true, None)
        }),
        // Keys and values shared by the batch, a dropout mask.
        Case::new("attention_dropout_broadcast", &["attention"], &[&[2, 3, 4], &[3, 4], &[3, 2]], Any, |v| {
            v[0].attention(&v[1], &v[2], false, Some(gradus_tensor::AttentionDropout::new(0.4, 3)))
        }),
        // Softmax.
        Case::new("softmax", &["softmax"], &[&[2, 4]], Any, |v| v[0].softmax(-1)),
        Case::new("log_softmax", &["log_softmax"], &[&[3, 2]], Any, |v| v[0].log_softmax(0)),
        // Sums over replicas (three copies stand in for a group).
        Case::new("sum_across", &["sum_across"], &[&[2, 3]], Any, |v| {
            let group: std::rc::Rc<dyn crate::Across> = std::rc::Rc::new(crate::Copies(3));
            (&v[0] * &v[0]).sum_across(&group)
        }),
        // Activations.
        Case::new("relu", &["relu"], &[&[6]], Any, |v| v[0].relu()),
        Case::new("leaky_relu", &["leaky_relu"], &[&[6]], Any, |v| v[0].leaky_relu(0.01)),
        Case::new("prelu", &["prelu"], &[&[2, 3], &[3]], Any, |v| v[0].prelu(&v[1])),
        Case::new("swish", &["swish"], &[&[2, 3], &[1]], Any, |v| v[0].swish(&v[1])),
        Case::new("silu", &["silu"], &[&[4]], Any, |v| v[0].silu()),
        Case::new("softplus", &["softplus"], &[&[4]], Any, |v| v[0].softplus(2.0, 20.0)),
        Case::new("mish", &["mish"], &[&[4]], Any, |v| v[0].mish()),
        Case::new("gelu", &["gelu"], &[&[4]], Any, |v| v[0].gelu()),
        Case::new("gelu_tanh", &["gelu_tanh"], &[&[4]], Any, |v| v[0].gelu_tanh()),
        Case::new("elu", &["elu"], &[&[6]], Any, |v| v[0].elu(1.0)),
        Case::new("selu", &["selu"], &[&[6]], Any, |v| v[0].selu()),
        Case::new("logsigmoid", &["logsigmoid"], &[&[4]], Any, |v| v[0].logsigmoid()),
        Case::new("hardtanh", &["hardtanh"], &[&[6]], Any, |v| v[0].hardtanh(-1.0, 1.0)),
        // Convolutions: odd sizes, stride > kernel, padding, dilation, groups, depthwise, padding modes.
        Case::new("conv2d", &["conv2d"], &[&[2, 2, 5, 4], &[3, 2, 3, 2], &[3]], Any, |v| {
            v[0].conv2d(&v[1], Some(&v[2]), &ConvOptions::default().padding(Padding::Explicit([1, 1])))
        }),
        Case::new("conv2d_stride_dilation", &["conv2d"], &[&[1, 2, 7, 7], &[2, 2, 2, 2]], Any, |v| {
            v[0].conv2d(&v[1], None, &ConvOptions::default().stride([3, 2]).dilation([2, 1]))
        }),
        Case::new("conv2d_groups", &["conv2d"], &[&[1, 4, 4, 4], &[2, 2, 3, 3]], Any, |v| {
            v[0].conv2d(&v[1], None, &ConvOptions::default().groups(2).padding(Padding::Same))
        }),
        Case::new("conv2d_depthwise_reflect", &["conv2d", "pad"], &[&[1, 2, 4, 5], &[2, 1, 3, 3]], Any, |v| {
            let o = ConvOptions::default().groups(2).padding(Padding::Explicit([1, 2])).padding_mode(PadMode::Reflect);
            v[0].conv2d(&v[1], None, &o)
        }),
        Case::new("conv1d", &["conv1d"], &[&[2, 2, 6], &[3, 2, 3], &[3]], Any, |v| {
            let o = ConvOptions::default().stride([2]).padding(Padding::Explicit([2])).padding_mode(PadMode::Circular);
            v[0].conv1d(&v[1], Some(&v[2]), &o)
        }),
        Case::new("conv1d_same", &["conv1d"], &[&[1, 2, 5], &[2, 2, 4]], Any, |v| {
            v[0].conv1d(&v[1], None, &ConvOptions::default().padding(Padding::Same).padding_mode(PadMode::Replicate))
        }),
        Case::new("conv_transpose2d", &["conv_transpose2d"], &[&[1, 2, 3, 3], &[2, 2, 3, 2], &[4]], Any, |v| {
            let o = ConvTransposeOptions {
                stride: [2, 3],
                padding: [1, 0],
                output_padding: [1, 2],
                groups: 2,
                dilation: [1, 1],
            };
            v[0].conv_transpose2d(&v[1], Some(&v[2]), &o)
        }),
        Case::new("conv_transpose2d_dilation", &["conv_transpose2d"], &[&[2, 1, 3, 2], &[1, 2, 2, 2]], Any, |v| {
            let o = ConvTransposeOptions { dilation: [2, 2], padding: [1, 0], ..Default::default() };
            v[0].conv_transpose2d(&v[1], None, &o)
        }),
        // Pooling and padding.
        Case::new("max_pool2d", &["max_pool2d"], &[&[2, 2, 5, 5]], Any, |v| {
            let o = MaxPoolOptions {
                stride: Some([2, 2]),
                padding: [1, 1],
                ceil_mode: true,
                ..MaxPoolOptions::new([3, 3])
            };
            v[0].max_pool2d(&o).square()
        }),
        Case::new("max_pool2d_dilation", &["max_pool2d"], &[&[1, 2, 6, 7]], Any, |v| {
            let o = MaxPoolOptions { stride: Some([3, 1]), dilation: [2, 1], ..MaxPoolOptions::new([2, 2]) };
            v[0].max_pool2d(&o).square()
        }),
        Case::new("adaptive_max_pool2d", &["adaptive_max_pool2d"], &[&[1, 2, 5, 7]], Any, |v| {
            v[0].adaptive_max_pool2d([3, 2]).square()
        }),
        Case::new("avg_pool2d", &["avg_pool2d"], &[&[2, 1, 5, 6]], Any, |v| {
            let o = AvgPoolOptions {
                stride: Some([2, 2]),
                padding: [1, 1],
                ceil_mode: true,
                ..AvgPoolOptions::new([3, 3])
            };
            v[0].avg_pool2d(&o).square()
        }),
        Case::new("avg_pool2d_exclude_pad", &["avg_pool2d"], &[&[1, 2, 5, 5]], Any, |v| {
            let o = AvgPoolOptions {
                padding: [1, 0],
                count_include_pad: false,
                divisor_override: None,
                ..AvgPoolOptions::new([2, 3])
            };
            let d = AvgPoolOptions { divisor_override: Some(3), ..AvgPoolOptions::new([2, 2]) };
            v[0].avg_pool2d(&o).square().sum(.., false).add(&v[0].avg_pool2d(&d).square().sum(.., false))
        }),
        Case::new("adaptive_avg_pool2d", &["adaptive_avg_pool2d"], &[&[1, 2, 5, 7]], Any, |v| {
            v[0].adaptive_avg_pool2d([2, 3]).square()
        }),
        Case::new("pad", &["pad"], &[&[1, 2, 3, 4]], Any, |v| {
            let r = v[0].pad(&[(2, 1), (1, 3)], PadMode::Reflect, 0.0);
            let p = v[0].pad(&[(1, 2), (2, 2)], PadMode::Replicate, 0.0);
            let c = v[0].pad(&[(3, 0), (1, 3)], PadMode::Circular, 0.0);
            let k = v[0].pad(&[(1, 2), (0, 4)], PadMode::Constant, 0.5);
            r.mul(&p).add(&c.mul(&k))
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_public_op_has_a_case() {
        let ops = sources_in(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ops"));
        assert!(ops.len() >= 10, "found only {} op files", ops.len());
        let ops: Vec<&str> = ops.iter().map(String::as_str).collect();
        let missing = uncovered(&ops, &cases());
        assert!(missing.is_empty(), "ops without a gradcheck case in catalogue.rs: {missing:?}");
    }

    #[test]
    fn options_methods_are_not_ops_but_free_functions_are() {
        let src = "impl Foo {\n    pub fn stride() {}\n}\nimpl<T: Float> Var<T> {\n    pub fn conv9() {}\n}\npub fn huber() {}\n";
        assert_eq!(uncovered(&[src], &[]), vec!["conv9".to_string(), "huber".to_string()]);
    }

    #[test]
    fn the_catalogue_passes_at_first_and_second_order() {
        let failures = failures(&cases(), 1);
        assert!(failures.is_empty(), "gradcheck failures:\n{}", failures.join("\n"));
    }

    #[test]
    fn a_wrong_rule_is_caught_with_the_worst_element_named() {
        // d/dx x² claimed to be x (missing the 2).
        let wrong = |v: &[Var<f64>]| {
            crate::var::record("wrong_square", v[0].value().square(), &[&v[0]], |x, _, g| {
                smallvec::smallvec![Some(g.mul(&x[0]))]
            })
        };
        let inputs = gradcheck::random_inputs(&[vec![3]], 0.2, 2.0, false, 3);
        let report = gradcheck::gradcheck(&wrong, &inputs, Tolerance::default()).unwrap();
        assert!(!report.passed);
        let text = report.to_string();
        assert!(text.starts_with("FAIL") && text.contains("worst: ∂out["), "{text}");
        let fast = gradcheck::gradcheck_fast(&wrong, &inputs, Tolerance::default(), 4).unwrap();
        assert!(!fast.passed, "fast mode must catch it too");
        let right = |v: &[Var<f64>]| v[0].square();
        assert!(gradcheck::gradcheck_fast(&right, &inputs, Tolerance::default(), 4).unwrap().passed);
    }

    #[test]
    fn a_rule_that_is_not_differentiable_itself_fails_second_order() {
        // The right first derivative 2x, but computed from a detached value:
        // create_graph cannot see through it.
        let detached = |v: &[Var<f64>]| {
            crate::var::record("detached_square", v[0].value().square(), &[&v[0]], |x, _, g| {
                smallvec::smallvec![Some(g.mul(&Var::constant(x[0].value() * 2.0)))]
            })
        };
        let inputs = gradcheck::random_inputs(&[vec![3]], 0.2, 2.0, false, 5);
        assert!(gradcheck::gradcheck(&detached, &inputs, Tolerance::default()).unwrap().passed);
        assert!(!gradcheck::gradgradcheck(&detached, &inputs, Tolerance::default(), 6).unwrap().passed);
    }
}
