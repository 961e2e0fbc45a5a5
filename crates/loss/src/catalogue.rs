//! Gradient-check cases for every loss (first and second order), joined to
//! the ops' catalogue by `cargo xtask gradcheck`. A test fails if a public
//! loss function has no case.

use crate::*;
use gradus_autodiff::catalogue::{Case, Domain};
use gradus_tensor::Tensor;

fn classes(v: &[usize]) -> Tensor<usize> {
    Tensor::from_slice(v, &[v.len()]).expect("a vector")
}

fn values(v: &[f64], shape: &[usize]) -> Tensor<f64> {
    Tensor::from_slice(v, shape).expect("catalogue shapes")
}

/// Every loss case.
pub fn cases() -> Vec<Case> {
    use Domain::{AwayFromZero as Any, Positive as Pos};
    use Reduction::{BatchMean, Mean, None as Each, Sum};
    let y = classes(&[1, 0, 4, 2]);
    let y_ignored = classes(&[1, 3, 4, 3]);
    let weight = values(&[0.5, 1.0, 2.0, 1.5, 0.25], &[5]);
    let probs = Tensor::from_slice(&[0.1, 0.2, 0.3, 0.2, 0.2], &[1, 5]).unwrap().broadcast_to(&[4, 5]).contiguous();
    let bits = values(&[1.0, 0.0, 1.0, 0.0, 0.0, 1.0], &[2, 3]);
    let pos_weight = values(&[2.0, 0.5, 1.0], &[3]);
    let (y1, y2, y3, y4) = (y.clone(), y.clone(), y.clone(), y_ignored.clone());
    let (w1, w2, w3) = (weight.clone(), weight.clone(), weight.clone());
    let (b1, b2, pw) = (bits.clone(), bits.clone(), pos_weight.clone());
    vec![
        Case::new("mse", &["mse"], &[&[3, 4], &[3, 4]], Any, |v| mse(&v[0], &v[1], Mean)),
        Case::new("l1 (sum)", &["l1"], &[&[3, 4], &[3, 4]], Any, |v| l1(&v[0], &v[1], Sum)),
        Case::new("huber δ=1", &["huber"], &[&[3, 4], &[3, 4]], Any, |v| huber(&v[0], &v[1], 1.0, Mean)),
        Case::new("smooth_l1 β=0.5 (none)", &["smooth_l1"], &[&[6], &[6]], Any, |v| {
            smooth_l1(&v[0], &v[1], 0.5, Each)
        }),
        Case::new("gaussian_nll full", &["gaussian_nll"], &[&[3, 2], &[3, 2], &[3]], Pos, |v| {
            gaussian_nll(&v[0], &v[1], &v[2], true, 1e-6, Mean)
        }),
        Case::new("cross_entropy", &["cross_entropy", "reduction"], &[&[4, 5]], Any, move |v| {
            cross_entropy(&v[0], &y1, Mean)
        }),
        Case::new("cross_entropy weighted, smoothed, ignore", &["cross_entropy_with"], &[&[4, 5]], Any, move |v| {
            let opts = CrossEntropyOptions {
                weight: Some(w1.clone()),
                ignore_index: Some(3),
                label_smoothing: 0.1,
                reduction: Mean,
            };
            cross_entropy_with(&v[0], &y4, &opts)
        }),
        Case::new("cross_entropy per sample", &["cross_entropy_with"], &[&[4, 5]], Any, move |v| {
            let opts = CrossEntropyOptions {
                weight: Some(w2.clone()),
                label_smoothing: 0.2,
                reduction: Each,
                ..Default::default()
            };
            cross_entropy_with(&v[0], &y2, &opts)
        }),
        Case::new("cross_entropy soft labels", &["cross_entropy_probs"], &[&[4, 5]], Any, move |v| {
            let opts = CrossEntropyOptions {
                weight: Some(w3.clone()),
                label_smoothing: 0.1,
                reduction: BatchMean,
                ..Default::default()
            };
            cross_entropy_probs(&v[0], &probs, &opts)
        }),
        Case::new("nll", &["nll", "nll_with"], &[&[4, 5]], Any, move |v| nll(&v[0].log_softmax(-1), &y3, Mean)),
        Case::new("bce_with_logits pos_weight", &["binary_cross_entropy_with_logits"], &[&[2, 3]], Any, move |v| {
            let w = values(&[1.0, 2.0, 0.5], &[3]);
            binary_cross_entropy_with_logits(&v[0], &b1, Some(&w), Some(&pw), Mean)
        }),
        Case::new("bce on sigmoid", &["binary_cross_entropy"], &[&[2, 3]], Any, move |v| {
            binary_cross_entropy(&v[0].sigmoid(), &b2, None, Sum)
        }),
        Case::new("kl_div", &["kl_div"], &[&[3, 4], &[3, 4]], Any, |v| {
            kl_div(&v[0].log_softmax(-1), &v[1].softmax(-1), false, BatchMean)
        }),
        Case::new("kl_div log_target", &["kl_div"], &[&[3, 4], &[3, 4]], Any, |v| {
            kl_div(&v[0].log_softmax(-1), &v[1].log_softmax(-1), true, Mean)
        }),
        Case::new("l2_penalty", &["l2_penalty", "l2_penalty_where"], &[&[3, 2], &[2]], Any, |v| {
            let params = vec![("0.weight".to_string(), v[0].clone()), ("0.bias".to_string(), v[1].clone())];
            &l2_penalty(0.3, &params) + &l2_penalty_where(0.1, &params, |n| n.ends_with("bias"))
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every public function of every file under `src/` (found, not
    /// listed: a new loss file without a case fails here).
    #[test]
    fn every_public_loss_has_a_case() {
        let sources =
            gradus_autodiff::catalogue::sources_in(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
        let sources: Vec<&str> = sources.iter().map(String::as_str).collect();
        let mut missing = gradus_autodiff::catalogue::uncovered(&sources, &cases());
        missing.retain(|name| name != "cases"); // this file's own list
        assert!(missing.is_empty(), "losses without a gradcheck case in catalogue.rs: {missing:?}");
    }

    #[test]
    fn a_loss_without_a_case_is_found() {
        let new_file = "//! A new loss.\npub fn hinge_squared<T: Float>(x: &Var<T>) -> Var<T> {\n    x.square()\n}\n";
        assert_eq!(gradus_autodiff::catalogue::uncovered(&[new_file], &cases()), ["hinge_squared"]);
    }

    #[test]
    fn the_catalogue_passes() {
        let failures = gradus_autodiff::catalogue::failures(&cases(), 1);
        assert!(failures.is_empty(), "gradcheck failures:\n{}", failures.join("\n"));
    }
}
