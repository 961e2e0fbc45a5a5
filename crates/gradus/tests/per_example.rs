//! Per-example gradients from one backward pass against a loop of one
//! backward pass per example, on a network of linear layers, one of
//! strided, padded and grouped convolutions, a residual block, and a
//! sequence model whose linear layers see several rows per example; and
//! the noise statistics against their formulas over the loop's gradients.

use gradus::autodiff::{Tape, Var};
use gradus::models::ModelSpec;
use gradus::per_example::{gradient_noise, per_example_gradients};
use gradus::prelude::*;
use gradus::tensor::Tensor;

/// Each example's gradient of every parameter, by its own backward pass.
fn by_loop(model: &dyn Module<f64>, x: &Tensor<f64>, y: &BatchTargets<f64>) -> Vec<Vec<Vec<f64>>> {
    let loss = CrossEntropy::default();
    let params = model.named_parameters();
    (0..y.len())
        .map(|n| {
            let tape = Tape::new();
            let xn = Var::constant(x.narrow(0, n, 1).contiguous());
            let out = loss.loss(&model.forward(&tape, &xn), &y.rows(n, 1)).unwrap();
            let grads = out.backward().unwrap();
            params
                .iter()
                .map(|(_, p)| {
                    let leaf = tape.keyed(p.id().0).unwrap();
                    grads.get(&leaf).map_or_else(|| vec![0.0; p.value().numel()], |g| g.to_vec())
                })
                .collect()
        })
        .collect()
}

fn inputs(shape: &[usize], classes: usize) -> (Tensor<f64>, BatchTargets<f64>) {
    let len: usize = shape.iter().product();
    let x = (0..len).map(|i| (((i * 7919) % 101) as f64 / 50.0) - 1.0).collect();
    let labels = (0..shape[0]).map(|i| (i * 5 + 1) % classes).collect();
    (Tensor::from_vec(x, shape).unwrap(), BatchTargets::Classes(Tensor::from_vec(labels, &[shape[0]]).unwrap()))
}

fn check(spec: &str, shape: &[usize], classes: usize) {
    let model = ModelSpec::parse(spec).unwrap().build::<f64>(3);
    let (x, y) = inputs(shape, classes);
    let expected = by_loop(&model, &x, &y);
    let each = per_example_gradients(&model, &CrossEntropy::default(), &Var::constant(x.clone()), &y).unwrap();
    assert!(each.uncovered.is_empty(), "{spec}: uncovered {:?}", each.uncovered);
    let names: Vec<String> = model.named_parameters().into_iter().map(|(n, _)| n).collect();
    assert_eq!(each.gradients.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(), names);
    for (k, (name, g)) in each.gradients.iter().enumerate() {
        assert_eq!(g.shape()[0], shape[0], "{spec}: {name}");
        let rows = g.to_vec();
        let per = rows.len() / shape[0];
        for (n, row) in rows.chunks(per).enumerate() {
            for (i, (a, b)) in row.iter().zip(&expected[n][k]).enumerate() {
                assert!((a - b).abs() <= 1e-10 * b.abs().max(1.0), "{spec}: {name}[{n}][{i}]: {a} vs the loop's {b}");
            }
        }
    }
    // The noise statistics from norms alone, against their formulas.
    let noise = gradient_noise(&model, &CrossEntropy::default(), &Var::constant(x), &y).unwrap();
    let b = shape[0] as f64;
    let flat: Vec<Vec<f64>> = expected.iter().map(|e| e.concat()).collect();
    let mean: Vec<f64> = (0..flat[0].len()).map(|i| flat.iter().map(|g| g[i]).sum::<f64>() / b).collect();
    let sq = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>();
    for (n, g) in flat.iter().enumerate() {
        let (got, want) = (noise.norms[n], sq(g).sqrt());
        assert!((got - want).abs() <= 1e-10 * want.max(1.0), "{spec}: norm {n}: {got} vs {want}");
    }
    let close = |got: f64, want: f64, what: &str| {
        assert!((got - want).abs() <= 1e-9 * want.abs().max(1e-3), "{spec}: {what}: {got} vs {want}")
    };
    close(noise.mean_square_norm, sq(&mean), "‖ḡ‖²");
    let trace =
        flat.iter().map(|g| sq(&g.iter().zip(&mean).map(|(a, m)| a - m).collect::<Vec<_>>())).sum::<f64>() / (b - 1.0);
    close(noise.trace_covariance(), trace, "tr Σ");
    close(noise.batch_variance(), trace / b, "tr Σ / B");
    close(noise.noise_scale(), trace / (sq(&mean) - trace / b), "B_simple");
}

#[test]
fn linear_layers_match_the_loop() {
    check("seq(linear(5, 7), tanh, linear(7, 4), relu, linear(4, 3))", &[6, 5], 3);
}

#[test]
fn convolutions_strided_padded_and_grouped_match_the_loop() {
    let spec = "seq(conv2d(2, 4, 3, stride=2, padding=1), relu, conv2d(4, 4, 2, groups=2, bias=false), \
                flatten, linear(16, 3))";
    check(spec, &[5, 2, 6, 6], 3);
}

#[test]
fn a_residual_block_and_a_reflected_padding_match_the_loop() {
    let spec = "seq(res(conv2d(1, 1, 3, padding=1, padding_mode=reflect), tanh), flatten, linear(16, 2))";
    check(spec, &[4, 1, 4, 4], 2);
}

#[test]
fn a_sequence_with_several_rows_per_example_matches_the_loop() {
    // [N, T, D] through linear layers: T rows per example each.
    check("seq(reshape(4, 3), linear(3, 5), tanh, mean_tokens, linear(5, 3))", &[5, 12], 3);
}

#[test]
fn parameters_outside_linear_and_convolution_layers_are_named_as_uncovered() {
    let model = ModelSpec::parse("seq(linear(4, 6), layernorm(6), linear(6, 2))").unwrap().build::<f64>(1);
    let (x, y) = inputs(&[3, 4], 2);
    let each = per_example_gradients(&model, &CrossEntropy::default(), &Var::constant(x), &y).unwrap();
    assert_eq!(each.uncovered, vec!["1.weight".to_string(), "1.bias".to_string()]);
    assert_eq!(each.gradients.len(), 4);
}
