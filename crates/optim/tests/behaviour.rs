//! The worked numbers, stability on a quadratic, the
//! textbook forms, the driver (groups, missing gradients, exact state round
//! trip, errors), clipping, and the parallel pass against the serial one.

use gradus_optim::*;

fn gd(lr: f64, steps: usize) -> f64 {
    let mut opt = Optimizer::new(Sgd::new(SgdConfig { lr, ..Default::default() }).unwrap());
    let mut x = vec![10.0f64];
    for _ in 0..steps {
        let g = vec![2.0 * x[0]];
        opt.update(0, &mut x, &g).unwrap();
    }
    x[0]
}

#[test]
fn ten_steps_of_gradient_descent_on_x_squared() {
    // x₁₀ = (1 − 2η)¹⁰·10.
    for (lr, expected) in [(0.2, 0.060466), (0.05, 3.486784), (1.1, 61.917364)] {
        let x = gd(lr, 10);
        assert_eq!((x * 1e6).round() / 1e6, expected, "η = {lr}");
        assert!((x - 10.0 * (1.0 - 2.0 * lr).powi(10)).abs() <= 1e-12 * x.abs());
    }
}

#[test]
fn gd_on_a_quadratic_diverges_above_two_over_lambda_max() {
    // ½θᵀAθ with A = diag(1, 50): λ_max = 50, so η < 0.04 converges.
    let run = |lr: f64| {
        let mut opt = Optimizer::new(Sgd::new(SgdConfig { lr, ..Default::default() }).unwrap());
        let mut theta = vec![1.0f64, 1.0];
        for _ in 0..500 {
            let g = vec![theta[0], 50.0 * theta[1]];
            opt.update(7, &mut theta, &g).unwrap();
        }
        theta[0].hypot(theta[1])
    };
    assert!(run(0.039) < 1e-3);
    assert!(run(0.041) > 1e3);
}

#[test]
fn textbook_momentum_reaches_terminal_velocity_and_rmsprop_puts_delta_inside() {
    // On a plane (constant g) v → −εg/(1 − α).
    let m = Momentum::new(0.1, 0.9).unwrap();
    let mut theta = vec![0.0f64];
    let mut state = UpdateRule::<f64>::init(&m, 0.1, &[1]);
    for _ in 0..400 {
        m.update(0.1, &mut theta, &[1.0], &mut state);
    }
    assert!((state.slots[0][0] + 0.1 / (1.0 - 0.9)).abs() < 1e-12);
    // Textbook RMSProp: θ − ε g/√(δ + r) with r = (1 − ρ)g² after one step.
    let r = Rmsprop::new(RmspropConfig { lr: 0.01, eps: 1e-6, textbook: true, ..Default::default() }).unwrap();
    let mut theta = vec![1.0f64];
    let mut state = UpdateRule::<f64>::init(&r, 0.01, &[1]);
    r.update(0.01, &mut theta, &[0.5], &mut state);
    let expected = 1.0 - 0.01 * 0.5 / (1e-6 + 0.01 * 0.25f64).sqrt();
    assert!((theta[0] - expected).abs() < 1e-15);
}

#[test]
fn groups_report_missing_gradients_and_state_round_trips_exactly() {
    let adam = || Adam::new(AdamConfig { lr: 0.01, amsgrad: true, ..Default::default() }).unwrap();
    let nadam = || Nadam::new(NadamConfig::default()).unwrap();
    let build = || {
        let mut o = Optimizer::<f32>::new(adam());
        o.add_group(nadam(), Some(0.005), [2]);
        o
    };
    let grads = |t: usize, k: usize| -> Vec<f32> { (0..4).map(|i| ((t * 7 + k * 3 + i) as f32).sin()).collect() };
    let mut whole = build();
    let mut params = vec![vec![0.5f32; 4]; 3];
    let mut resumed_params = params.clone();
    let mut first = build();
    for t in 0..20 {
        let gs: Vec<Option<Vec<f32>>> = (0..3).map(|k| (!(k == 1 && t % 3 == 0)).then(|| grads(t, k))).collect();
        let report = whole
            .step(
                params
                    .iter_mut()
                    .zip(&gs)
                    .enumerate()
                    .map(|(k, (p, g))| (k as u64, &[4][..], &mut p[..], g.as_deref())),
            )
            .unwrap();
        assert_eq!(report.without_gradient, if t % 3 == 0 { vec![1] } else { vec![] });
        if t == 9 {
            // Save and restore into a fresh driver, then continue.
            let saved = first.export();
            first = build();
            first.import(&saved).unwrap();
        }
        for (k, p) in resumed_params.iter_mut().enumerate() {
            if !(k == 1 && t % 3 == 0) {
                first.update(k as u64, p, &grads(t, k)).unwrap();
            }
        }
    }
    for (a, b) in params.iter().flatten().zip(resumed_params.iter().flatten()) {
        assert_eq!(a.to_bits(), b.to_bits());
    }
    assert_eq!(whole.export(), first.export());
    assert_eq!(whole.groups()[1].lr, 0.005);
    assert_eq!(whole.state(2).unwrap().scalars.len(), 1); // NAdam's μ product
}

#[test]
fn errors_name_what_is_wrong() {
    let mut only = Optimizer::<f64>::boxed(parse("sgd(lr=0.1)").unwrap());
    let mut p = vec![0.0; 3];
    assert_eq!(
        only.update(1, &mut p, &[1.0, 2.0]).unwrap_err().to_string(),
        "parameter 1: gradient has 2 elements, expected 3"
    );
    only.update(1, &mut p, &[1.0; 3]).unwrap();
    let mut explicit = Optimizer::<f64>::new(Sgd::new(SgdConfig::default()).unwrap());
    explicit.add_group(Sgd::new(SgdConfig::default()).unwrap(), None, [3]);
    assert!(explicit.group_of(9).is_ok());
    let msg = |r: Result<Adam>| r.unwrap_err().to_string();
    assert_eq!(msg(Adam::new(AdamConfig { lr: -1.0, ..Default::default() })), "adam: `lr` must be >= 0, got -1");
    assert_eq!(
        msg(Adam::new(AdamConfig { betas: (0.9, 1.0), ..Default::default() })),
        "adam: `betas.1` must be in [0, 1), got 1"
    );
    assert_eq!(
        Sgd::new(SgdConfig { momentum: 0.9, dampening: 0.1, nesterov: true, ..Default::default() })
            .unwrap_err()
            .to_string(),
        "sgd: `nesterov` requires momentum > 0 and dampening = 0"
    );
    assert!(parse::<f64>("lbfgs(lr=1)").unwrap_err().to_string().contains("`lbfgs` re-evaluates the loss"));
    // Optax has no default rate for Lion: the spec needs one.
    assert!(parse::<f64>("lion").unwrap_err().to_string().contains("lr"), "{}", parse::<f64>("lion").unwrap_err());
    assert_eq!(
        Lion::new(LionConfig { betas: (1.0, 0.99), ..LionConfig::with_lr(1e-4) }).unwrap_err().to_string(),
        "lion: `betas.0` must be in [0, 1), got 1"
    );
    for name in ["signum", "yogi", "adabelief", "novograd", "adopt", "ademamix"] {
        assert!(parse::<f64>(name).unwrap_err().to_string().contains("lr"), "{name} needs a rate");
    }
    let err = |spec: &str| parse::<f64>(spec).unwrap_err().to_string();
    assert_eq!(err("signum(lr=0.1, momentum=1.5)"), "signum: `momentum` must be in [0, 1], got 1.5");
    assert_eq!(err("adabelief(lr=0.1, eps_root=-1)"), "adabelief: `eps_root` must be >= 0, got -1");
    assert_eq!(err("yogi(lr=0.1, eps=-1)"), "yogi: `eps` must be >= 0, got -1");
    assert!(err("adan(lr=0.1, betas=(0.9,0.9))").ends_with("`betas` must be a triple (a,b,c), got 2 numbers"));
    assert!(err("ademamix(lr=0.1, betas=(0.9,0.9))").ends_with("`betas` must be a triple (a,b,c), got 2 numbers"));
    assert_eq!(err("ademamix(lr=0.1, alpha=-1)"), "ademamix: `alpha` must be >= 0, got -1");
    assert_eq!(err("novograd(lr=0.1, betas=(0.9,1))"), "novograd: `betas.1` must be in [0, 1), got 1");
    assert_eq!(
        err("schedule_free_sgd(momentum=0)"),
        "schedule_free_sgd: `momentum` must be in (0, 1): evaluation divides by it, got 0"
    );
    assert_eq!(
        err("schedule_free_adamw(betas=(1,0.999))"),
        "schedule_free_adamw: `betas.0` must be in (0, 1): evaluation divides by it, got 1"
    );
    assert_eq!(err("prodigy(d0=0)"), "prodigy: `d0` must be > 0, got 0");
    assert_eq!(err("prodigy(betas=(0.9,1))"), "prodigy: `betas.1` must be in [0, 1), got 1");
    assert_eq!(
        err("muon(fallback=prodigy)"),
        "muon: `fallback` must update each tensor on its own; prodigy couples a group's tensors"
    );
    assert_eq!(err("sophia(k=0)"), "sophia: `k` must be at least 1, got 0");
    assert_eq!(err("sophia(rho=-1)"), "sophia: `rho` must be >= 0, got -1");
    assert_eq!(err("muon(fallback=sophia)"), "muon: `fallback` must not need curvature estimates; sophia does");
    assert!(err("schedule_free_adamw(warmup_steps=2.5)").contains("`warmup_steps` must be a non-negative integer"));
    assert!(err("adopt(lr=0.1, use_clipping=1)").ends_with("`use_clipping` must be true or false, got a number `1`"));
    assert!(parse::<f64>("adamm").unwrap_err().to_string().contains("unknown optimiser `adamm`; accepted: sgd,"));
    assert!(
        parse::<f64>("adam(betas=(0.9))")
            .unwrap_err()
            .to_string()
            .ends_with("`betas` must be a pair (a,b), got 1 numbers")
    );
}

#[test]
fn clipping_by_norm_and_value() {
    let (mut a, mut b) = (vec![3.0f64, 0.0], vec![0.0f64, 4.0]);
    let norm = clip_grad_norm(&mut [&mut a[..], &mut b[..]], 10.0, 2.0);
    assert_eq!((norm, a[0], b[1]), (5.0, 3.0, 4.0)); // under the limit: unchanged
    let norm = clip_grad_norm(&mut [&mut a[..], &mut b[..]], 1.0, f64::INFINITY);
    assert_eq!(norm, 4.0);
    assert!((b[1] - 4.0 / (4.0 + 1e-6)).abs() < 1e-12);
    let mut c = vec![-3.0f32, 0.5, 2.0];
    clip_grad_value(&mut [&mut c[..]], 1.0);
    assert_eq!(c, vec![-1.0, 0.5, 1.0]);
}

#[test]
fn the_parallel_pass_equals_the_serial_one() {
    // Above PARALLEL_MIN_COLD, so split whether or not the workers are awake.
    let n = PARALLEL_MIN_COLD + PARALLEL_MIN * 5 + 123;
    let grad: Vec<f32> = (0..n).map(|i| ((i * 37 % 1000) as f32 - 500.0) / 100.0).collect();
    let adam = Adam::new(AdamConfig::adamw()).unwrap();
    let mut big = vec![0.1f32; n];
    let mut state = UpdateRule::<f32>::init(&adam, 1e-3, &[n]);
    for _ in 0..3 {
        adam.update(1e-3, &mut big, &grad, &mut state);
    }
    // Element by element, the same update on one-element slices (always serial).
    for i in [0, 1, PARALLEL_MIN - 1, PARALLEL_MIN, 3 * PARALLEL_MIN + 7, n - 1] {
        let mut one = vec![0.1f32];
        let mut s = UpdateRule::<f32>::init(&adam, 1e-3, &[1]);
        for _ in 0..3 {
            adam.update(1e-3, &mut one, &grad[i..=i], &mut s);
        }
        assert_eq!(one[0].to_bits(), big[i].to_bits(), "element {i}");
    }
}

#[test]
fn a_step_over_many_parameters_equals_one_update_each() {
    // Enough elements in all to update the parameters side by side whether
    // or not the workers are awake; sizes from one element to a split one.
    let sizes = [PARALLEL_MIN_COLD + 17, 1, 300, PARALLEL_MIN - 1, 5];
    let grads: Vec<Vec<f32>> =
        sizes.iter().map(|&n| (0..n).map(|i| ((i * 31 % 997) as f32 - 498.0) / 50.0).collect()).collect();
    let start = |k: usize| vec![0.1f32 * k as f32; sizes[k]];
    let (mut together, mut alone) = (
        Optimizer::new(Adam::new(AdamConfig::default()).unwrap()),
        Optimizer::new(Adam::new(AdamConfig::default()).unwrap()),
    );
    let mut a: Vec<Vec<f32>> = (0..sizes.len()).map(start).collect();
    let mut b = a.clone();
    for _ in 0..3 {
        let report = together
            .step(
                a.iter_mut()
                    .zip(&grads)
                    .enumerate()
                    .map(|(k, (p, g))| (k as u64, &sizes[k..=k], &mut p[..], Some(&g[..]))),
            )
            .unwrap();
        assert_eq!(report.updated, sizes.len());
        for (k, (p, g)) in b.iter_mut().zip(&grads).enumerate() {
            alone.update(k as u64, p, g).unwrap();
        }
    }
    for (k, (x, y)) in a.iter().zip(&b).enumerate() {
        assert!(x.iter().zip(y).all(|(x, y)| x.to_bits() == y.to_bits()), "parameter {k} differs");
        assert_eq!(together.state(k as u64), alone.state(k as u64));
    }
}

#[test]
fn a_step_stops_at_a_bad_parameter_after_updating_those_before() {
    let n = PARALLEL_MIN_COLD;
    let mut opt = Optimizer::new(Sgd::new(SgdConfig { lr: 1.0, ..Default::default() }).unwrap());
    let (mut p0, mut p1, mut p2) = (vec![1.0f64; n], vec![1.0f64; n], vec![1.0f64; n]);
    let g = vec![0.5f64; n];
    let err = opt
        .step([
            (0, &[n][..], &mut p0[..], Some(&g[..])),
            (1, &[n][..], &mut p1[..], Some(&g[..3])),
            (2, &[n][..], &mut p2[..], Some(&g[..])),
        ])
        .unwrap_err();
    assert!(err.to_string().contains("gradient"), "{err}");
    assert!(p0.iter().all(|&x| x == 0.5), "the parameter before the bad one is updated");
    assert!(p1.iter().chain(&p2).all(|&x| x == 1.0), "the bad one and those after it are not");
}

#[test]
fn a_parameter_twice_in_one_step_is_updated_twice_in_order() {
    let n = PARALLEL_MIN_COLD;
    let mut opt = Optimizer::new(Adam::new(AdamConfig::default()).unwrap());
    let (mut p, mut q) = (vec![1.0f32; n], vec![1.0f32; n]);
    let g = vec![0.25f32; n];
    opt.step([(7, &[n][..], &mut p[..], Some(&g[..])), (7, &[n][..], &mut q[..], Some(&g[..]))]).unwrap();
    assert_eq!(opt.state(7).unwrap().step, 2);
    let mut reference = Optimizer::new(Adam::new(AdamConfig::default()).unwrap());
    let (mut r, mut s) = (vec![1.0f32; n], vec![1.0f32; n]);
    reference.update(7, &mut r, &g).unwrap();
    reference.update(7, &mut s, &g).unwrap();
    assert_eq!((p, q), (r, s));
}

/// Prodigy's step size is one for the group, inside Lookahead too: every
/// parameter's copy of d is the same after a step of both, and a group's
/// step is not two groups of one.
#[test]
fn a_coupled_method_steps_its_group_together_inside_lookahead_too() {
    for spec in ["prodigy", "lookahead(prodigy(weight_decay=0.1), k=2)"] {
        let rule = parse::<f64>(spec).unwrap();
        assert!(rule.couples(), "{spec}");
        let mut together = Optimizer::boxed(rule);
        let mut apart = Optimizer::boxed(parse::<f64>(spec).unwrap());
        let (mut a, mut b) = (vec![1.0, -2.0, 0.5], vec![3.0]);
        let (mut a2, mut b2) = (a.clone(), b.clone());
        for _ in 0..10 {
            let (ga, gb) = (a.clone(), b.clone());
            together
                .step([(0, &[3][..], &mut a[..], Some(&ga[..])), (1, &[1][..], &mut b[..], Some(&gb[..]))])
                .unwrap();
            let (ga, gb) = (a2.clone(), b2.clone());
            apart.update(0, &mut a2, &ga).unwrap();
            apart.update(1, &mut b2, &gb).unwrap();
        }
        let d = |o: &Optimizer<f64>, key| o.state(key).unwrap().scalars[0];
        assert_eq!(d(&together, 0), d(&together, 1), "{spec}: one d for the group");
        assert_ne!(d(&apart, 0), d(&apart, 1), "{spec}: alone, each parameter is its own group");
    }
}
