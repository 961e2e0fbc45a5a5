//! Methods that see a parameter's shape (Adafactor's factored second
//! moment, Muon's orthogonalisation and its fallback), the driver's state
//! by shape (save and restore, a shape that changes), their properties and
//! their errors.

use gradus_optim::*;
use proptest::prelude::*;

fn sin_grads(t: usize, n: usize) -> Vec<f64> {
    (0..n).map(|i| ((t * 13 + i * 7) as f64 * 0.37).sin()).collect()
}

#[test]
fn factored_and_fallback_states_round_trip_exactly() {
    for spec in ["adafactor(lr=0.05, weight_decay=0.01)", "muon(lr=0.02, fallback=nadam(lr=0.01))"] {
        let build = || Optimizer::<f64>::boxed(parse(spec).unwrap());
        let shapes: [&[usize]; 3] = [&[3, 4], &[2, 3, 2], &[5]];
        let mut whole = build();
        let mut resumed = build();
        let mut a: Vec<Vec<f64>> = shapes.iter().map(|s| vec![0.5; s.iter().product()]).collect();
        let mut b = a.clone();
        for t in 0..12 {
            let grads: Vec<Vec<f64>> = a.iter().map(|p| sin_grads(t, p.len())).collect();
            let items = a.iter_mut().zip(&grads).zip(shapes).enumerate();
            whole.step(items.map(|(k, ((p, g), s))| (k as u64, s, &mut p[..], Some(&g[..])))).unwrap();
            if t == 5 {
                let saved = resumed.export();
                resumed = build();
                resumed.import(&saved).unwrap();
            }
            for (k, ((p, g), s)) in b.iter_mut().zip(&grads).zip(shapes).enumerate() {
                resumed.update_shaped(k as u64, s, p, g).unwrap();
            }
        }
        assert_eq!(a, b, "{spec}");
        let saved = whole.export();
        assert_eq!(saved, resumed.export());
        let lengths: Vec<(String, usize)> = saved.tensors.iter().map(|(n, v)| (n.clone(), v.len())).collect();
        let expected: Vec<(&str, usize)> = if spec.starts_with("adafactor") {
            // m + n numbers for a matrix, per leading index for more axes.
            vec![
                ("state.0.row_var", 3),
                ("state.0.col_var", 4),
                ("state.1.row_var", 6),
                ("state.1.col_var", 4),
                ("state.2.variance", 5),
            ]
        } else {
            // Muon's buffer for the matrix, NAdam's two moments and μ product for the rest.
            vec![
                ("state.0.momentum_buffer", 12),
                ("state.1.exp_avg", 12),
                ("state.1.exp_avg_sq", 12),
                ("state.2.exp_avg", 5),
                ("state.2.exp_avg_sq", 5),
            ]
        };
        assert_eq!(lengths, expected.iter().map(|(n, l)| (n.to_string(), *l)).collect::<Vec<_>>(), "{spec}");
    }
}

#[test]
fn a_state_refuses_another_shape_and_a_restore_checks_every_buffer() {
    let mut opt = Optimizer::<f64>::boxed(parse("adafactor").unwrap());
    let mut w = vec![1.0; 12];
    opt.update_shaped(4, &[3, 4], &mut w, &[0.5; 12]).unwrap();
    assert_eq!(
        opt.update_shaped(4, &[4, 3], &mut w, &[0.5; 12]).unwrap_err().to_string(),
        "parameter 4: shape [4, 3], but its optimiser state was made for [3, 4]"
    );
    assert_eq!(
        opt.update_shaped(4, &[3, 5], &mut w, &[0.5; 12]).unwrap_err().to_string(),
        "parameter 4: parameter has 12 elements, expected 15"
    );
    let saved = opt.export();
    let fresh = || Optimizer::<f64>::boxed(parse("adafactor").unwrap());
    let mut other = saved.clone();
    other.shapes.insert(4, vec![4, 3]);
    assert_eq!(
        fresh().import(&other).unwrap_err().to_string(),
        "optimiser state does not fit: state.4.row_var holds 3 values; a parameter of shape [4, 3] keeps 4"
    );
    other.shapes.insert(4, vec![12]);
    assert_eq!(
        fresh().import(&other).unwrap_err().to_string(),
        "optimiser state does not fit: missing state.4.variance"
    );
    other.shapes.clear();
    assert_eq!(
        fresh().import(&other).unwrap_err().to_string(),
        "optimiser state does not fit: missing the shape of parameter 4"
    );
    fresh().import(&saved).unwrap();
}

#[test]
fn muon_leaves_vectors_to_its_fallback_at_the_fallbacks_own_rate() {
    // A vector's path under Muon is its fallback's, bit for bit.
    let run = |spec: &str, lrs: &[f64]| {
        let mut opt = Optimizer::<f64>::boxed(parse(spec).unwrap());
        let mut p = vec![1.0, -2.0, 0.5];
        for (t, &lr) in lrs.iter().enumerate() {
            opt.set_lr(lr);
            opt.update(0, &mut p, &sin_grads(t, 3)).unwrap();
        }
        p
    };
    assert_eq!(run("muon(lr=0.02)", &[0.02; 5]), run("adamw(lr=1e-3)", &[1e-3; 5]));
    // A schedule that halves Muon's rate halves the fallback's.
    assert_eq!(run("muon(lr=0.02, fallback=sgd(lr=0.1))", &[0.01; 3]), run("sgd(lr=0.1)", &[0.05; 3]));
    assert_eq!(fallback_of::<f64>("muon(fallback=adam(lr=0.3))").unwrap().unwrap().default_lr(), 0.3);
}

#[test]
fn the_cubic_newton_schulz_iteration_orthogonalises() {
    // With (a, b, c) = (1.5, −0.5, 0) the iteration converges to UVᵀ: the
    // step of a 2 × 3 gradient with orthonormal rows is then the rate
    // times those rows, whatever their scale.
    let spec = "muon(lr=0.1, momentum=0, nesterov=false, weight_decay=0, ns_coefficients=(1.5,-0.5,0), ns_steps=60)";
    let mut opt = Optimizer::<f64>::boxed(parse(spec).unwrap());
    let mut w = vec![0.0; 6];
    let g = [2.0, 1.0, 0.0, 1.0, 3.0, 1.0];
    opt.update_shaped(0, &[2, 3], &mut w, &g).unwrap();
    // O = −w/0.1 has orthonormal rows: O·Oᵀ = I.
    let o: Vec<f64> = w.iter().map(|x| -x / 0.1).collect();
    let dot = |i: usize, j: usize| (0..3).map(|k| o[i * 3 + k] * o[j * 3 + k]).sum::<f64>();
    for (i, j, want) in [(0, 0, 1.0), (1, 1, 1.0), (0, 1, 0.0)] {
        assert!((dot(i, j) - want).abs() < 1e-12, "O·Oᵀ[{i},{j}] = {}", dot(i, j));
    }
    // O = U Vᵀ is the polar factor: Oᵀ·G is symmetric positive definite.
    let og = |i: usize, j: usize| (0..2).map(|k| o[k * 3 + i] * g[k * 3 + j]).sum::<f64>();
    assert!((og(0, 1) - og(1, 0)).abs() < 1e-12 && (og(0, 2) - og(2, 0)).abs() < 1e-12);
}

#[test]
fn shaped_methods_name_bad_values() {
    let err = |spec: &str| parse::<f64>(spec).unwrap_err().to_string();
    assert_eq!(err("adafactor(d=0.5)"), "adafactor: `d` must be >= 1, got 0.5");
    assert_eq!(err("adafactor(beta2_decay=0.1)"), "adafactor: `beta2_decay` must be <= 0, got 0.1");
    assert_eq!(err("adafactor(eps=(-1,1e-3))"), "adafactor: `eps` ε₁ must be >= 0, got -1");
    assert!(err("adafactor(eps=1e-3)").ends_with("`eps` must be a pair (eps1, eps2), got `0.001`"));
    assert!(
        err("adafactor(eps=(1e-3,none))").ends_with("`eps` must be a pair (eps1, eps2) of numbers, eps1 may be `none`")
    );
    assert_eq!(err("muon(ns_steps=100)"), "muon: `ns_steps` must be below 100, got 100");
    assert_eq!(err("muon(momentum=-0.5)"), "muon: `momentum` must be >= 0, got -0.5");
    assert!(
        err("muon(adjust_lr_fn=sqrt)")
            .ends_with("`adjust_lr_fn` must be one of none, original, match_rms_adamw, spectral_unclamped, got `sqrt`")
    );
    assert!(err("muon(ns_coefficients=(1,2))").ends_with("`ns_coefficients` must be a triple (a,b,c), got 2 numbers"));
    assert!(
        err("muon(fallback=muon)")
            .ends_with("`fallback` must be an optimiser for tensors other than matrices, not muon")
    );
    assert!(err("muon(fallback=adam(lr=-1))").contains("adam: `lr` must be >= 0, got -1"));
    assert!(err("muon(fallback=3)").contains("`fallback` must be a spec such as `adamw(lr=1e-3)`, got a number `3`"));
    assert!(err("muon(fallback=lbfgs)").contains("`lbfgs` re-evaluates the loss"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Where g² is an outer product aᵢbⱼ (a rank-1 second moment), the
    /// factored estimate is exact at the first step, so every element moves
    /// by α = RMS(θ)·η against its gradient's sign: the factoring loses
    /// nothing for such a gradient.
    #[test]
    fn adafactor_factors_a_rank_one_second_moment_exactly(
        a in proptest::collection::vec(0.1f64..3.0, 3),
        b in proptest::collection::vec(0.1f64..3.0, 4),
        signs in proptest::collection::vec(any::<bool>(), 12),
    ) {
        let mut opt = Optimizer::<f64>::boxed(parse("adafactor(lr=0.01)").unwrap());
        let g: Vec<f64> = (0..12).map(|k| {
            let v = (a[k / 4] * b[k % 4]).sqrt();
            if signs[k] { v } else { -v }
        }).collect();
        let mut w = vec![2.0; 12];
        opt.update_shaped(0, &[3, 4], &mut w, &g).unwrap();
        for (k, x) in w.iter().enumerate() {
            let want = if signs[k] { 2.0 - 0.02 } else { 2.0 + 0.02 };
            prop_assert!((x - want).abs() < 1e-12, "element {k}: {x}, expected {want}");
        }
    }

    /// Muon's step depends on the direction of the momentum, not its size:
    /// gradients scaled by 4 (exactly, a power of two) give the same path
    /// bit for bit.
    #[test]
    fn muons_path_does_not_depend_on_the_gradients_scale(
        g in proptest::collection::vec(-2.0f64..2.0, 6 * 5),
        nesterov in any::<bool>(),
    ) {
        let spec = format!("muon(lr=0.02, nesterov={nesterov})");
        let run = |scale: f64| {
            let mut opt = Optimizer::<f64>::boxed(parse(&spec).unwrap());
            let mut w = vec![0.3; 6];
            for t in 0..5 {
                let g: Vec<f64> = g[t * 6..(t + 1) * 6].iter().map(|x| x * scale).collect();
                opt.update_shaped(0, &[3, 2], &mut w, &g).unwrap();
            }
            w
        };
        prop_assert_eq!(run(1.0), run(4.0));
    }
}

#[test]
fn lookahead_keeps_the_slow_weights_after_its_inner_methods_state() {
    let spec = "lookahead(adam(lr=0.1), k=3, alpha=0.5)";
    let build = || Optimizer::<f64>::boxed(parse(spec).unwrap());
    let (mut whole, mut resumed) = (build(), build());
    let (mut a, mut b) = (vec![1.0, -1.0], vec![1.0, -1.0]);
    for t in 0..8 {
        let g = sin_grads(t, 2);
        whole.update(0, &mut a, &g).unwrap();
        if t == 4 {
            let saved = resumed.export();
            resumed = build();
            resumed.import(&saved).unwrap();
        }
        resumed.update(0, &mut b, &g).unwrap();
    }
    assert_eq!(a, b);
    let names: Vec<String> = whole.export().tensors.into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["state.0.exp_avg", "state.0.exp_avg_sq", "state.0.slow"]);
    // At a sync the fast weights land halfway between the slow and fast.
    let mut opt = Optimizer::<f64>::boxed(parse("lookahead(sgd(lr=1), k=2, alpha=0.25)").unwrap());
    let mut p = vec![0.0];
    opt.update(0, &mut p, &[-4.0]).unwrap();
    assert_eq!(p, [4.0]);
    opt.update(0, &mut p, &[-4.0]).unwrap();
    assert_eq!(p, [2.0], "φ + α(θ − φ) = 0 + 0.25·8");
    let err = |spec: &str| parse::<f64>(spec).unwrap_err().to_string();
    assert_eq!(err("lookahead(sgd, k=0)"), "lookahead: `k` must be at least 1, got 0");
    assert_eq!(err("lookahead(sgd, alpha=1.5)"), "lookahead: `alpha` must be in [0, 1], got 1.5");
    assert!(err("lookahead(k=3)").contains("`optimizer` is required"));
    assert!(err("lookahead(lbfgs)").contains("`lbfgs` re-evaluates the loss"));
}
