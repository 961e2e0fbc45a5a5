//! Invariants of the schedules (proptest, fixed seed) and the errors of bad
//! hyper-parameters.

use gradus_sched::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

fn runner() -> TestRunner {
    TestRunner::new_with_rng(
        Config { cases: 256, ..Config::default() },
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    )
}

#[test]
fn decays_never_increase_and_stay_positive() {
    runner()
        .run(&(1usize..50, 0.01f64..1.0, 0.0f64..2.0, 1usize..300), |(size, gamma, k, t)| {
            let schedules: [Box<dyn LrScheduler>; 5] = [
                Box::new(StepDecay::new(size, gamma).unwrap()),
                Box::new(Exponential::new(gamma).unwrap()),
                Box::new(MultiStep::new(vec![size, 2 * size, 3 * size], gamma).unwrap()),
                Box::new(InverseTime::new(k, 1.0).unwrap()),
                Box::new(Polynomial::new(size, 1.0 + gamma).unwrap()),
            ];
            for s in &schedules {
                let (now, next) = (s.lr(0.5, t), s.lr(0.5, t + 1));
                prop_assert!(next <= now && next >= 0.0 && now <= 0.5, "{s:?} at {t}: {now} then {next}");
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn annealed_rates_stay_within_their_bounds() {
    runner()
        .run(&(1usize..40, 1usize..4, 0.0f64..0.05, 0usize..500), |(period, mult, eta_min, t)| {
            let base = 0.1;
            for s in [
                &Cosine::new(period, eta_min).unwrap() as &dyn LrScheduler,
                &WarmRestarts::new(period, mult, eta_min).unwrap(),
            ] {
                let lr = s.lr(base, t);
                prop_assert!(lr >= eta_min - 1e-15 && lr <= base + 1e-15, "{s:?} at {t}: {lr}");
            }
            let one = OneCycle::new(base, period * 10, OneCycleOptions::default()).unwrap();
            let (lr, m) = (one.lr(0.0, t), one.momentum(t).unwrap());
            prop_assert!(lr > 0.0 && lr <= base + 1e-15, "onecycle at {t}: {lr}");
            prop_assert!((0.85 - 1e-12..=0.95 + 1e-12).contains(&m), "onecycle momentum {m}");
            Ok(())
        })
        .unwrap();
}

/// Optax's warm-up and cosine rises from `init` to `peak` and falls to
/// `end`, where it stays; a chain of decays is their product and decays.
#[test]
fn warmup_cosine_rises_then_falls_and_chains_multiply() {
    runner()
        .run(&(0usize..20, 1usize..50, 0.0f64..1.0, 0.0f64..1.0, 0usize..200), |(w, d, init, end, t)| {
            let s = WarmupCosine::new(1.0, w, w + d, init * 0.5, end * 0.5, 1.0).unwrap();
            let (now, next) = (s.lr(0.1, t), s.lr(0.1, t + 1));
            if t < w {
                prop_assert!(next >= now - 1e-15, "warm-up falls at {t}: {now} → {next}");
            } else {
                prop_assert!(next <= now + 1e-15, "decay rises at {t}: {now} → {next}");
            }
            if t >= w + d {
                prop_assert!((now - 0.1 * end * 0.5).abs() <= 1e-15, "after the decay {now}");
            }
            let chain = Chained::new(vec![
                Box::new(Exponential::new(0.9).unwrap()),
                Box::new(Multiplicative::new(0.5).unwrap()),
            ])
            .unwrap();
            let want = 0.1 * 0.9f64.powi(t as i32) * 0.5f64.powi(t as i32);
            prop_assert!((chain.lr(0.1, t) - want).abs() <= 1e-12 * want, "chain at {t}");
            Ok(())
        })
        .unwrap();
}

#[test]
fn triangular_cycles_are_periodic_and_bounded() {
    runner()
        .run(&(1usize..20, 1usize..20, 0usize..400), |(up, down, t)| {
            let s = Cyclic::new(0.01, 0.1, up, Some(down), CyclicMode::Triangular, Some((0.8, 0.9))).unwrap();
            let p = s.period();
            prop_assert!((s.lr(0.0, t) - s.lr(0.0, t + p)).abs() < 1e-12);
            prop_assert!((s.momentum(t).unwrap() - s.momentum(t + p).unwrap()).abs() < 1e-12);
            let lr = s.lr(0.0, t);
            prop_assert!((0.01 - 1e-15..=0.1 + 1e-15).contains(&lr));
            // Rate and momentum move in opposite directions.
            let (lr0, m0) = (s.lr(0.0, t) - 0.01, s.momentum(t).unwrap() - 0.8);
            prop_assert!((lr0 / 0.09 + m0 / 0.1 - 1.0).abs() < 1e-9);
            let halving = Cyclic::new(0.01, 0.1, up, Some(down), CyclicMode::Triangular2, None).unwrap();
            prop_assert!(halving.lr(0.0, t + p) - 0.01 <= (halving.lr(0.0, t) - 0.01) / 2.0 + 1e-15);
            Ok(())
        })
        .unwrap();
}

#[test]
fn warm_restarts_land_on_the_right_steps() {
    runner()
        .run(&(1usize..30, 1usize..4), |(t0, mult)| {
            let s = WarmRestarts::new(t0, mult, 0.0).unwrap();
            let mut expected = 0;
            let mut period = t0;
            for at in s.restarts().take(5) {
                let previous = period;
                expected += period;
                period *= mult;
                prop_assert_eq!(at, expected);
                prop_assert_eq!(s.lr(1.0, at), 1.0);
                // The step before a restart is still annealing (unless that period lasted one step).
                prop_assert!(s.lr(1.0, at - 1) < 1.0 || previous == 1);
                prop_assert_eq!(s.position(at), (0, period));
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn invalid_hyper_parameters_name_the_field() {
    let msg = |e: SchedError| e.to_string();
    assert_eq!(msg(StepDecay::new(0, 0.1).unwrap_err()), "step: `step_size` must be positive, got 0");
    assert_eq!(msg(Exponential::new(-1.0).unwrap_err()), "exponential: `gamma` must be positive, got -1");
    assert_eq!(
        msg(MultiStep::new(vec![5, 2], 0.1).unwrap_err()),
        "multistep: `milestones` must be increasing, got [5, 2]"
    );
    assert_eq!(msg(LinearRamp::new(0.0, 1.0, 5).unwrap_err()), "linear: `start_factor` must be in (0, 1], got 0");
    assert_eq!(
        msg(WarmRestarts::new(5, 0, 0.0).unwrap_err()),
        "warm_restarts: `t_mult` must be an integer >= 1, got 0"
    );
    assert_eq!(
        msg(Cyclic::new(0.1, 0.01, 4, None, CyclicMode::Triangular, None).unwrap_err()),
        "cyclic: `max_lr` must be >= base_lr (0.1), got 0.01"
    );
    assert_eq!(
        msg(OneCycle::new(0.1, 0, OneCycleOptions::default()).unwrap_err()),
        "onecycle: `total_steps` must be positive, got 0"
    );
    let bad = PlateauOptions { factor: 1.0, ..Default::default() };
    assert_eq!(msg(ReduceOnPlateau::new(0.1, bad).unwrap_err()), "plateau: `factor` must be in (0, 1), got 1");
    assert_eq!(
        msg(Phases::new(vec![Box::new(Constant::default())], vec![3]).unwrap_err()),
        "sequential: `milestones` must have one fewer entry than schedulers (1), got 1"
    );
    assert_eq!(
        msg(WarmupCosine::new(1.0, 10, 10, 0.0, 0.0, 1.0).unwrap_err()),
        "warmup_cosine: `decay_steps` must be greater than warmup_steps (10), got 10"
    );
    assert_eq!(msg(Multiplicative::new(-0.5).unwrap_err()), "multiplicative: `factor` must be >= 0, got -0.5");
    assert_eq!(
        msg(Piecewise::new(vec![5, 5], vec![0.5, 0.5], Interpolate::None).unwrap_err()),
        "piecewise: `boundaries` must be strictly increasing, got [5, 5]"
    );
    assert_eq!(
        msg(Piecewise::new(vec![5], vec![0.5, 0.1], Interpolate::Linear).unwrap_err()),
        "piecewise: `scales` must have one entry per boundary (1), got 2"
    );
    assert_eq!(msg(Chained::new(vec![]).unwrap_err()), "chained: `schedulers` must list at least one schedule");
    assert!(parse("chained([onecycle(max_lr=1, total_steps=10)])").unwrap_err().to_string().ends_with(
        "`onecycle` sets the rate itself, so it cannot be multiplied into a chain; chain schedules that scale the rate"
    ));
    assert!(
        parse("piecewise(boundaries=[1], scales=[1], interpolate=step)")
            .unwrap_err()
            .to_string()
            .ends_with("`interpolate` must be one of none, linear, cosine, got `step`")
    );
    // Through spec strings, the same messages, and the parser's own.
    assert_eq!(parse("step(step_size=0)").unwrap_err().to_string(), "step: `step_size` must be positive, got 0");
    assert_eq!(parse("step(gamma=0.5)").unwrap_err().to_string(), "step(gamma=0.5): `step_size` is required");
    assert_eq!(
        parse("cosine(t_max=10, eta=0.1)").unwrap_err().to_string(),
        "cosine(t_max=10, eta=0.1): unknown key `eta`; accepted: t_max, eta_min"
    );
    assert_eq!(
        parse("onecycle(max_lr=0.1, total_steps=10, anneal_strategy=cosine)").unwrap_err().to_string(),
        "onecycle(max_lr=0.1, total_steps=10, anneal_strategy=cosine): `anneal_strategy` must be one of cos, linear, got `cosine`"
    );
    assert!(
        parse("sequential([plateau], milestones=[])")
            .unwrap_err()
            .to_string()
            .contains("plateau cannot be part of a sequence")
    );
    assert!(
        parse("multistep(milestones=[1.5])")
            .unwrap_err()
            .to_string()
            .ends_with("`milestones` must hold non-negative integers, got 1.5")
    );
}

#[test]
fn one_cycle_ends_at_total_steps_and_per_group_schedules_differ() {
    let s = OneCycle::new(0.5, 20, OneCycleOptions::default()).unwrap();
    assert!((s.lr(0.0, 19) - 0.5 / 25.0 / 1e4).abs() < 1e-18);
    // torch 2.x: after 20 steps get_last_lr() is 0.006269996882456277 (the
    // last phase extrapolated); a 21st step raises ValueError.
    assert!((s.lr(0.0, 20) - 0.006269996882456277).abs() < 1e-15, "{}", s.lr(0.0, 20));
    assert_eq!(s.last_step(), Some(20));
    let seq = gradus_sched::parse("sequential([onecycle(max_lr=0.5, total_steps=5), constant], milestones=[10])");
    let Ok(gradus_sched::Schedule::Steps(seq)) = seq else { panic!("a step schedule") };
    assert_eq!(seq.last_step(), Some(5), "the one-cycle part is stepped past its end at step 6");
    let seq = gradus_sched::parse("sequential([constant, onecycle(max_lr=0.5, total_steps=5)], milestones=[10])");
    let Ok(gradus_sched::Schedule::Steps(seq)) = seq else { panic!("a step schedule") };
    assert_eq!(seq.last_step(), Some(15));
    let groups = PerGroup(vec![Box::new(Constant::default()), Box::new(StepDecay::new(1, 0.5).unwrap())]);
    assert_eq!((groups.lr(0, 0.1, 3), groups.lr(1, 0.2, 3)), (0.1, 0.025));
    assert_eq!(groups.momentum(1, 0), None);
}
