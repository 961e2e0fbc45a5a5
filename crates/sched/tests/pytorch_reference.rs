//! Every schedule against PyTorch's rates (and momenta) step by step, from
//! reference data made by scripts/pytorch_reference.py, and Optax's
//! schedules (`warmup_cosine`, `piecewise`) against Optax's, from
//! scripts/optax_reference.py: each case is a spec string, parsed here
//! exactly as the command line would.

use gradus_sched::{ReduceOnPlateau, Schedule, parse};
use std::collections::BTreeMap;

#[derive(Default)]
struct Case {
    base_lr: f64,
    spec: String,
    lr: Vec<f64>,
    momentum: Option<Vec<f64>>,
    metrics: Option<Vec<f64>>,
}

fn cases() -> BTreeMap<String, Case> {
    cases_in(include_str!("data/pytorch.txt"))
}

fn cases_in(text: &str) -> BTreeMap<String, Case> {
    let mut out: BTreeMap<String, Case> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let mut parts = line.splitn(3, ' ');
        let (kind, name, rest) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
        let case = out.entry(name.to_string()).or_default();
        let numbers = || rest.split(' ').map(|v| v.parse::<f64>().unwrap()).collect::<Vec<_>>();
        match kind {
            "spec" => {
                let (base, spec) = rest.split_once(' ').unwrap();
                case.base_lr = base.parse().unwrap();
                case.spec = spec.to_string();
            }
            "lr" => case.lr = numbers(),
            "momentum" => case.momentum = Some(numbers()),
            "metrics" => case.metrics = Some(numbers()),
            other => panic!("unknown line kind {other}"),
        }
    }
    out
}

fn close(case: &str, what: &str, step: usize, got: f64, want: f64) {
    let err = (got - want).abs() / want.abs().max(1e-300);
    assert!(err <= 1e-12, "{case} {what} at step {step}: gradus {got}, reference {want} (relative error {err:e})");
}

#[test]
fn every_schedule_matches_pytorch_step_by_step() {
    let cases = cases();
    assert_eq!(cases.len(), 21, "reference cases");
    follow(&cases);
}

#[test]
fn optaxs_schedules_match_optax_step_by_step() {
    let cases = cases_in(include_str!("data/optax.txt"));
    assert_eq!(cases.len(), 5, "reference cases");
    follow(&cases);
}

/// Every rate (and momentum) of every case to 1e-12 relative.
fn follow(cases: &BTreeMap<String, Case>) {
    for (name, case) in cases {
        match parse(&case.spec).unwrap_or_else(|e| panic!("{name}: {e}")) {
            Schedule::Steps(s) => {
                for (t, &want) in case.lr.iter().enumerate() {
                    close(name, "lr", t, s.lr(case.base_lr, t), want);
                }
                match &case.momentum {
                    Some(moms) => {
                        for (t, &want) in moms.iter().enumerate() {
                            close(name, "momentum", t, s.momentum(t).expect("cycled"), want);
                        }
                    }
                    None => assert!(s.momentum(0).is_none() || name.starts_with("cyclic"), "{name}"),
                }
            }
            Schedule::Plateau(options) => {
                let mut s = ReduceOnPlateau::new(case.base_lr, options).unwrap();
                for (t, (&metric, &want)) in case.metrics.as_ref().unwrap().iter().zip(&case.lr).enumerate() {
                    close(name, "lr", t, s.observe(metric), want);
                }
            }
        }
    }
}

#[test]
fn plateau_state_round_trips_exactly() {
    let cases = cases();
    let case = &cases["plateau"];
    let Schedule::Plateau(options) = parse(&case.spec).unwrap() else { panic!("plateau") };
    let metrics = case.metrics.as_ref().unwrap();
    let mut whole = ReduceOnPlateau::new(case.base_lr, options).unwrap();
    let mut first = ReduceOnPlateau::new(case.base_lr, options).unwrap();
    for (t, &m) in metrics.iter().enumerate() {
        let expected = whole.observe(m);
        if t == 7 {
            // Stop and resume from the saved state.
            first = ReduceOnPlateau::from_state(options, first.state()).unwrap();
        }
        assert_eq!(first.observe(m).to_bits(), expected.to_bits(), "step {t}");
    }
    assert_eq!(first.state(), whole.state());
}
