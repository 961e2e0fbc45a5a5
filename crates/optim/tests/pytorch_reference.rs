//! Every optimiser and option against PyTorch's trajectories in f64: on a
//! fixed gradient sequence and on the test functions (x²,
//! Rosenbrock, Himmelblau, an ill-conditioned quadratic, x² − y²), 30 steps
//! each, from reference data made by scripts/pytorch_reference.py; and two
//! 300-step runs on Rosenbrock from (−1.5, 2) (NAdam and Adam, lr 0.05),
//! which must equal PyTorch's bit for bit, and L-BFGS (lr 0.1, 20 inner
//! iterations, history 10, no line search) from the same start for 10
//! steps, held to 1e-12 with the others (it stays within 1e-15): the path crosses the valley and
//! amplifies any rounding that differs, so they hold the updates to
//! PyTorch's order of operations (`torch.addcdiv`'s (c·a)/b, `lerp` and
//! `addcmul` as one fused multiply-add each). PyTorch's own last bits
//! depend on the kernels its CPU runs (regenerated on an AVX-512 Xeon, six
//! RMSprop values of the AVX2-made file changed), so the other cases are
//! held to 1e-12 relative. Adafactor and Muon also run on matrices (and
//! Adafactor on a 2 × 3 × 2 tensor), whose shape the data give: Muon
//! against PyTorch's code with its bfloat16 cast removed. The methods from
//! Optax are held to Optax's trajectories the same way
//! (scripts/optax_reference.py).

use gradus_optim::{Method, Optimizer, parse, parse_method};
use std::collections::BTreeMap;

#[derive(Default)]
struct Case {
    function: String,
    spec: String,
    shape: Option<Vec<usize>>,
    start: Vec<f64>,
    grads: Vec<f64>,
    traj: Vec<f64>,
    /// The evaluation weights after each step (schedule-free methods).
    eval: Vec<f64>,
    /// The lengths of the parameters the vector is, stepped together.
    split: Option<Vec<usize>>,
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
            "case" => {
                let (function, spec) = rest.split_once(' ').unwrap();
                case.function = function.to_string();
                case.spec = spec.to_string();
            }
            "shape" => case.shape = Some(rest.split(',').map(|v| v.parse().unwrap()).collect()),
            "start" => case.start = numbers(),
            "grads" => case.grads = numbers(),
            "traj" => case.traj = numbers(),
            "eval" => case.eval = numbers(),
            "split" => case.split = Some(rest.split(',').map(|v| v.parse().unwrap()).collect()),
            other => panic!("unknown line kind {other}"),
        }
    }
    out
}

/// The test functions' gradients, written exactly as in the script.
fn gradient(function: &str, p: &[f64]) -> Vec<f64> {
    match function {
        "x2" => vec![2.0 * p[0]],
        "rosenbrock" => vec![-2.0 * (1.0 - p[0]) - 400.0 * p[0] * (p[1] - p[0] * p[0]), 200.0 * (p[1] - p[0] * p[0])],
        "himmelblau" => vec![
            4.0 * p[0] * (p[0] * p[0] + p[1] - 11.0) + 2.0 * (p[0] + p[1] * p[1] - 7.0),
            2.0 * (p[0] * p[0] + p[1] - 11.0) + 4.0 * p[1] * (p[0] + p[1] * p[1] - 7.0),
        ],
        "quadratic" => vec![p[0], 100.0 * p[1]],
        "saddle" => vec![2.0 * p[0], -2.0 * p[1]],
        // Σₖ (k + 1)·wₖ²/2 over a matrix's row-major elements.
        "scaled" => p.iter().enumerate().map(|(k, w)| (k + 1) as f64 * w).collect(),
        other => panic!("unknown function {other}"),
    }
}

fn loss(function: &str, p: &[f64]) -> f64 {
    match function {
        "rosenbrock" => (1.0 - p[0]).powi(2) + 100.0 * (p[1] - p[0] * p[0]).powi(2),
        "himmelblau" => (p[0] * p[0] + p[1] - 11.0).powi(2) + (p[0] + p[1] * p[1] - 7.0).powi(2),
        "quadratic" => 0.5 * p[0] * p[0] + 50.0 * p[1] * p[1],
        other => panic!("no loss for {other}"),
    }
}

#[test]
fn lbfgs_follows_pytorchs_trajectory_with_and_without_line_search() {
    let cases = cases();
    let lbfgs: Vec<_> = cases.iter().filter(|(n, _)| n.starts_with("lbfgs")).collect();
    assert_eq!(lbfgs.len(), 5);
    let mut worst = 0.0f64;
    for (name, case) in lbfgs {
        let Method::Lbfgs(mut opt) = parse_method::<f64>(&case.spec).unwrap() else { panic!("{name}: not lbfgs") };
        let mut theta = case.start.clone();
        let n = theta.len();
        for call in 0..case.traj.len() / n {
            opt.step(&mut theta, |p| (loss(&case.function, p), gradient(&case.function, p)));
            for (i, (&got, &want)) in theta.iter().zip(&case.traj[call * n..(call + 1) * n]).enumerate() {
                let err = (got - want).abs() / want.abs().max(1e-3);
                worst = worst.max(err);
                assert!(
                    err <= 1e-12,
                    "{name} call {} [{i}]: gradus {got}, PyTorch {want} (relative error {err:e})",
                    call + 1
                );
            }
        }
    }
    eprintln!("L-BFGS: worst relative error {worst:e}");
}

#[test]
fn every_optimiser_follows_pytorchs_trajectory() {
    let cases = cases();
    let mut worst = (0.0f64, String::new());
    let mut exact = 0;
    let first_order: Vec<_> = cases.iter().filter(|(n, _)| !n.starts_with("lbfgs")).collect();
    // 21 configurations on the fixed gradients and the five functions, two
    // long runs, and Adafactor's and Muon's 20 on matrices.
    let count = 21 * 6 + 2 + 20;
    assert_eq!(first_order.len(), count, "reference cases");
    for (name, case) in first_order {
        exact += usize::from(follows(name, case, &mut worst));
    }
    eprintln!("{exact} of {count} trajectories equal PyTorch's bit for bit");
    eprintln!("worst relative error {:e} at {}", worst.0, worst.1);
}

/// The methods from Optax against Optax's own trajectories
/// (scripts/optax_reference.py, f64, run eagerly so that every array
/// operation rounds on its own).
#[test]
fn every_optax_method_follows_optaxs_trajectory() {
    let cases = cases_in(include_str!("data/optax.txt"));
    // 30 configurations on the fixed gradients and the five functions, and
    // Prodigy's two on three parameters stepped together.
    assert_eq!(cases.len(), 30 * 6 + 2, "reference cases");
    assert_eq!(cases.values().filter(|c| !c.eval.is_empty()).count(), 4 * 6, "schedule-free cases");
    let mut worst = (0.0f64, String::new());
    let exact = cases.iter().filter(|(name, case)| follows(name, case, &mut worst)).count();
    eprintln!("{exact} of {} trajectories equal Optax's bit for bit", cases.len());
    eprintln!("worst relative error {:e} at {}", worst.0, worst.1);
}

/// Runs `case`'s optimiser along its reference trajectory, asserting every
/// step within 1e-12 relative (and the long runs bit for bit); returns
/// whether every value was equal bit for bit, and keeps the worst error.
fn follows(name: &str, case: &Case, worst: &mut (f64, String)) -> bool {
    let mut opt = Optimizer::boxed(parse::<f64>(&case.spec).unwrap_or_else(|e| panic!("{name}: {e}")));
    let mut theta = case.start.clone();
    let n = theta.len();
    let shape = case.shape.clone().unwrap_or(vec![n]);
    let mut same_bits = true;
    for t in 0..case.traj.len() / n {
        let g = if case.function == "fixed" {
            case.grads[t * n..(t + 1) * n].to_vec()
        } else {
            gradient(&case.function, &theta)
        };
        match &case.split {
            None => opt.update_shaped(0, &shape, &mut theta, &g).unwrap(),
            Some(split) => {
                let shapes: Vec<[usize; 1]> = split.iter().map(|&n| [n]).collect();
                let (mut rest, mut grads) = (&mut theta[..], &g[..]);
                let mut items = Vec::new();
                for (key, shape) in shapes.iter().enumerate() {
                    let (p, r) = std::mem::take(&mut rest).split_at_mut(shape[0]);
                    let (gp, gr) = grads.split_at(shape[0]);
                    (rest, grads) = (r, gr);
                    items.push((key as u64, &shape[..], p, Some(gp)));
                }
                opt.step(items).unwrap();
            }
        }
        let mut checked = theta.clone();
        let mut expected = case.traj[t * n..(t + 1) * n].to_vec();
        if !case.eval.is_empty() {
            checked.extend(opt.eval_params(0, &theta).expect("a schedule-free method's evaluation weights"));
            expected.extend(&case.eval[t * n..(t + 1) * n]);
        }
        for (i, (&got, &want)) in checked.iter().zip(&expected).enumerate() {
            if got == want || got.is_nan() && want.is_nan() {
                continue; // equal, or diverged the same way (maximising Rosenbrock)
            }
            same_bits = false;
            // The long runs cross Rosenbrock's valley, which amplifies any
            // rounding that differs: only PyTorch's order of operations,
            // its fused multiply-adds included, keeps them on its path.
            assert!(
                !name.ends_with("_long"),
                "{name} step {}: gradus {got}, reference {want}: not the reference's rounding",
                t + 1
            );
            let err = (got - want).abs() / want.abs().max(1e-3);
            if err > worst.0 {
                *worst = (err, format!("{name} step {t} [{i}]: gradus {got}, reference {want}"));
            }
            assert!(
                err <= 1e-12,
                "{name} ({}) step {} [{i}]: gradus {got}, reference {want} (relative error {err:e})",
                case.spec,
                t + 1
            );
        }
    }
    same_bits
}
