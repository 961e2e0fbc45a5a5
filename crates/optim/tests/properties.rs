//! Properties of the updates (proptest, fixed seed).

use gradus_optim::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

fn runner() -> TestRunner {
    TestRunner::new_with_rng(
        Config { cases: 256, ..Config::default() },
        TestRng::from_seed(RngAlgorithm::ChaCha, &[11; 32]),
    )
}

#[test]
fn adams_first_step_moves_each_coordinate_by_about_lr_against_the_gradient() {
    runner()
        .run(&(proptest::collection::vec(-100.0f64..100.0, 1..20), 1e-4f64..1.0), |(g, lr)| {
            let adam = Adam::new(AdamConfig { lr, ..Default::default() }).unwrap();
            let mut theta = vec![0.0; g.len()];
            let mut state = UpdateRule::<f64>::init(&adam, lr, &[g.len()]);
            adam.update(lr, &mut theta, &g, &mut state);
            for (t, g) in theta.iter().zip(&g) {
                // Bias-corrected first step: −lr·g/(|g| + δ).
                prop_assert!((t + lr * g / (g.abs() + 1e-8)).abs() <= 1e-12 * lr);
            }
            Ok(())
        })
        .unwrap();
}

/// Without decay, Lion moves every coordinate with a non-zero gradient by
/// the rate exactly (up to the rounding of θ + (−η)·sign), against the sign
/// of the momentum-mixed gradient, whatever the gradient's size; the
/// momentum is the gradients' exponential average.
#[test]
fn lion_moves_each_coordinate_by_the_rate() {
    runner()
        .run(
            &(proptest::collection::vec(prop_oneof![-1e6f64..-1e-6, 1e-6f64..1e6], 1..20), 1e-4f64..1.0, 1usize..5),
            |(g, lr, steps)| {
                let lion = Lion::new(LionConfig { weight_decay: 0.0, ..LionConfig::with_lr(lr) }).unwrap();
                let mut theta = vec![0.0; g.len()];
                let mut state = UpdateRule::<f64>::init(&lion, lr, &[g.len()]);
                for step in 1..=steps {
                    lion.update(lr, &mut theta, &g, &mut state);
                    for (t, g) in theta.iter().zip(&g) {
                        // The same gradient each step: the momentum keeps its sign.
                        let want = -(step as f64) * lr * g.signum();
                        prop_assert!((t - want).abs() <= 1e-12 * want.abs(), "{t} against {want}");
                    }
                }
                let mu = &state.slots[0];
                for (m, g) in mu.iter().zip(&g) {
                    let want = (1.0 - 0.99f64.powi(steps as i32)) * g;
                    prop_assert!((m - want).abs() <= 1e-12 * g.abs(), "momentum {m} against {want}");
                }
                Ok(())
            },
        )
        .unwrap();
}

/// Signum moves every coordinate by the rate against the sign of its
/// momentum, which a constant gradient never flips.
#[test]
fn signum_moves_each_coordinate_by_the_rate() {
    runner()
        .run(
            &(proptest::collection::vec(prop_oneof![-1e6f64..-1e-6, 1e-6f64..1e6], 1..20), 1e-4f64..1.0, 0.0f64..1.0),
            |(g, lr, momentum)| {
                let signum = Signum::new(SignumConfig { lr, momentum }).unwrap();
                let mut theta = vec![0.0; g.len()];
                let mut state = UpdateRule::<f64>::init(&signum, lr, &[g.len()]);
                for step in 1..=3 {
                    signum.update(lr, &mut theta, &g, &mut state);
                    for (t, g) in theta.iter().zip(&g) {
                        let want = -(step as f64) * lr * g.signum();
                        prop_assert!((t - want).abs() <= 1e-12 * want.abs(), "{t} against {want}");
                    }
                }
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn sgd_without_momentum_is_plain_gradient_descent_and_amsgrad_keeps_the_maximum() {
    runner()
        .run(&(proptest::collection::vec(-5.0f64..5.0, 1..10), 0.0f64..1.0, 1usize..6), |(g, lr, steps)| {
            let sgd = Sgd::new(SgdConfig { lr, ..Default::default() }).unwrap();
            let mut theta = vec![1.0; g.len()];
            let mut state = UpdateRule::<f64>::init(&sgd, lr, &[g.len()]);
            for _ in 0..steps {
                sgd.update(lr, &mut theta, &g, &mut state);
            }
            for (t, g) in theta.iter().zip(&g) {
                let mut expected = 1.0;
                for _ in 0..steps {
                    expected -= lr * g;
                }
                prop_assert_eq!(*t, expected);
            }
            let ams = Adam::new(AdamConfig { amsgrad: true, ..Default::default() }).unwrap();
            let mut state = UpdateRule::<f64>::init(&ams, 1e-3, &[g.len()]);
            let mut p = vec![0.0; g.len()];
            for k in 0..steps {
                let gk: Vec<f64> = g.iter().map(|x| x / (k + 1) as f64).collect();
                ams.update(1e-3, &mut p, &gk, &mut state);
                prop_assert!(state.slots[2].iter().zip(&state.slots[1]).all(|(m, v)| m >= v));
            }
            Ok(())
        })
        .unwrap();
}

/// NovoGrad normalises by the tensor's gradient norm: with ε = 0, gradients
/// scaled by a power of two (exact) give the same path bit for bit, and
/// its first step is η·g/‖g‖.
#[test]
fn novograd_does_not_depend_on_the_gradients_scale() {
    runner()
        .run(&(proptest::collection::vec(-10.0f64..10.0, 2..12), 0i32..20), |(g, k)| {
            prop_assume!(g.iter().any(|&x| x != 0.0));
            let config = NovogradConfig { eps: 0.0, ..NovogradConfig::with_lr(0.1) };
            let run = |scale: f64| {
                let mut opt = Optimizer::new(Novograd::new(config).unwrap());
                let mut theta = vec![1.0; g.len()];
                let scaled: Vec<f64> = g.iter().map(|x| x * scale).collect();
                for _ in 0..3 {
                    opt.update(0, &mut theta, &scaled).unwrap();
                }
                theta
            };
            prop_assert_eq!(run(1.0), run(2f64.powi(k)));
            let mut first = Optimizer::new(Novograd::new(config).unwrap());
            let mut theta = vec![0.0; g.len()];
            first.update(0, &mut theta, &g).unwrap();
            let norm = g.iter().map(|x| x * x).sum::<f64>().sqrt();
            for (t, x) in theta.iter().zip(&g) {
                prop_assert!((t + 0.1 * x / norm).abs() <= 1e-12, "{t} against {}", -0.1 * x / norm);
            }
            Ok(())
        })
        .unwrap();
}

/// ADOPT's first step only measures the gradient (θ stays), and with
/// clipping every later step moves a coordinate by at most η·t^¼.
#[test]
fn adopt_waits_one_step_and_clips_the_rest() {
    runner()
        .run(&proptest::collection::vec(proptest::collection::vec(-1e3f64..1e3, 4), 2..8), |grads| {
            let mut opt = Optimizer::new(Adopt::new(AdoptConfig::with_lr(0.1)).unwrap());
            let mut theta = vec![0.5; 4];
            opt.update(0, &mut theta, &grads[0]).unwrap();
            prop_assert_eq!(&theta, &vec![0.5; 4]);
            for (t, g) in grads.iter().enumerate().skip(1) {
                let before = theta.clone();
                opt.update(0, &mut theta, g).unwrap();
                let bound = 0.1 * (t as f64).powf(0.25) * (1.0 + 1e-12);
                for (a, b) in theta.iter().zip(&before) {
                    prop_assert!((a - b).abs() <= bound, "step {t}: moved {} > {bound}", (a - b).abs());
                }
            }
            Ok(())
        })
        .unwrap();
}
