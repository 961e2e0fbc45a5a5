//! `gradus train` with the second-order measurements and optimisers: the
//! gradient noise scale in metrics.csv (a measurement that leaves the run
//! as it was), and bad input.

mod common;

use common::{fake_mnist, gradus, scratch};
use std::path::{Path, PathBuf};

const DROPOUT_MLP: &str = "seq(flatten, linear(784, 16), relu, dropout(0.3), linear(16, 10))";

fn train(out: &Path, epochs: &str, optimizer: &str, extra: &[&str]) -> (i32, String, String) {
    train_model(out, DROPOUT_MLP, optimizer, "40", epochs, extra)
}

/// `gradus train` on the fake data set.
fn train_model(
    out: &Path,
    model: &str,
    optimizer: &str,
    batch: &str,
    epochs: &str,
    extra: &[&str],
) -> (i32, String, String) {
    let data = fake_mnist();
    let mut args = vec!["train", "--data-dir", data.to_str().unwrap(), "--model", model, "--optimizer", optimizer];
    args.extend(["--batch-size", batch, "--epochs", epochs, "--out", out.to_str().unwrap()]);
    args.extend(extra);
    gradus(&args)
}

/// A run of two epochs, and the same run stopped after one and resumed:
/// their directories, after checking that both end on the same test loss
/// bit for bit (`extra` on every call).
fn whole_and_resumed(
    name: &str,
    run: impl Fn(&Path, &str, &[&str]) -> (i32, String, String),
    extra: &[&str],
) -> (PathBuf, PathBuf) {
    let whole = scratch(&format!("{name}-whole"));
    let (code, _, err) = run(&whole, "2", extra);
    assert_eq!(code, 0, "{err}");
    let parts = scratch(&format!("{name}-parts"));
    assert_eq!(run(&parts, "1", extra).0, 0);
    let resumed = [extra, &["--resume"]].concat();
    let (code, _, err) = run(&parts, "2", &resumed);
    assert_eq!(code, 0, "{err}");
    let ((h, a), (_, b)) = (metrics(&whole), metrics(&parts));
    let test_loss = h.iter().position(|c| c == "test_loss").unwrap();
    assert!(a.iter().all(|r| r[test_loss].is_finite()), "{a:?}");
    assert_eq!(a[1][test_loss].to_bits(), b[1][test_loss].to_bits(), "the resumed run's last test loss");
    (whole, parts)
}

/// metrics.csv as (header, rows of values).
fn metrics(out: &Path) -> (Vec<String>, Vec<Vec<f64>>) {
    let text = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(String::from).collect();
    (header, lines.map(|l| l.split(',').map(|v| v.parse().unwrap()).collect()).collect())
}

#[test]
fn train_writes_the_noise_scale_and_measuring_changes_nothing() {
    let plain = scratch("second-noise-plain");
    assert_eq!(train(&plain, "2", "sgd(lr=0.1)", &[]).0, 0);
    let noisy = scratch("second-noise");
    let (code, _, err) = train(&noisy, "2", "sgd(lr=0.1)", &["--noise-scale-every", "2"]);
    assert_eq!(code, 0, "{err}");
    let ((h0, r0), (h1, r1)) = (metrics(&plain), metrics(&noisy));
    let col =
        |h: &[String], name: &str| h.iter().position(|c| c == name).unwrap_or_else(|| panic!("no {name} in {h:?}"));
    // Every column of the plain run, bit for bit but the wall time: the
    // measurement restores batch statistics and dropout's mask count.
    for name in h0.iter().filter(|n| *n != "seconds") {
        for (a, b) in r0.iter().zip(&r1) {
            assert_eq!(a[col(&h0, name)].to_bits(), b[col(&h1, name)].to_bits(), "{name}");
        }
    }
    for row in &r1 {
        let (variance, norm) = (row[col(&h1, "grad_variance")], row[col(&h1, "example_grad_norm")]);
        assert!(variance > 0.0 && norm > 0.0 && row[col(&h1, "noise_scale")].is_finite(), "{row:?}");
    }
    // A resume must ask for the same measurement.
    let (code, _, err) = train(&noisy, "3", "sgd(lr=0.1)", &["--resume"]);
    assert!(code == 2 && err.contains("--noise-scale-every 2"), "{code}: {err}");
    let (code, _, err) = train(&scratch("second-noise-zero"), "1", "sgd(lr=0.1)", &["--noise-scale-every", "0"]);
    assert!(code == 2 && err.contains("must be positive"), "{code}: {err}");
}

#[test]
fn kfac_trains_a_cnn_and_resumes_bit_for_bit() {
    let cnn = "seq(conv2d(1, 4, 3, padding=1), batchnorm2d(4), relu, maxpool2d(4), flatten, linear(196, 10))";
    let run = |out: &Path, epochs: &str, extra: &[&str]| {
        train_model(out, cnn, "kfac(lr=0.05, update_freq=2)", "40", epochs, extra)
    };
    let (whole, _) = whole_and_resumed("second-kfac", run, &[]);
    // The factors and their inverses are in the checkpoint.
    let ck = std::fs::read(whole.join("checkpoint.safetensors")).unwrap();
    assert!(ck.windows(b"a_inverse".len()).any(|w| w == b"a_inverse"));
}

#[test]
fn kfac_refuses_bad_keys_and_test_functions() {
    let out = scratch("second-kfac-bad");
    for (spec, says) in [
        ("kfac", "lr"),
        ("kfac(lr=0.1, ema=1.5)", "ema"),
        ("kfac(lr=0.1, damping=0)", "damping"),
        ("kfac(lr=0.1, update_freq=0)", "update_freq"),
    ] {
        let (code, _, err) = train(&out, "1", spec, &[]);
        assert!(code == 2 && err.contains(says), "{spec}: {code}: {err}");
    }
    let (code, _, err) =
        gradus(&["trace", "--function", "rosenbrock", "--start=-1,1", "--optimizer", "kfac(lr=0.1)", "--steps", "3"]);
    assert!(code == 2 && err.contains("linear and convolution layers"), "{code}: {err}");
}

#[test]
fn hessian_free_trains_resumes_bit_for_bit_and_traces() {
    let mlp = |out: &Path, epochs: &str, extra: &[&str]| {
        let hf = "hessian_free(damping=0.1, cg_steps=10)";
        train_model(out, "mlp(784, 16, 10, act=tanh)", hf, "50", epochs, extra)
    };
    let (whole, _) = whole_and_resumed("second-hf", mlp, &[]);
    let (h, a) = metrics(&whole);
    let test_loss = h.iter().position(|c| c == "test_loss").unwrap();
    assert!(a[1][test_loss] < a[0][test_loss], "{a:?}");
    // It has no weight decay for --no-decay to turn off.
    let (code, _, err) = mlp(&scratch("second-hf-groups"), "1", &["--no-decay", "bias"]);
    assert!(code == 2 && err.contains("no weight decay"), "{code}: {err}");
    // On a test function its products are the function's Hessian.
    let (code, csv, err) = gradus(&[
        "trace",
        "--function",
        "rosenbrock",
        "--start=-1.2,1",
        "--optimizer",
        "hessian_free(damping=0.1)",
        "--steps",
        "30",
    ]);
    assert_eq!(code, 0, "{err}");
    let last: Vec<f64> = csv.lines().last().unwrap().split(',').map(|v| v.parse().unwrap()).collect();
    assert!(last[3] < 1e-6, "Rosenbrock after 30 Hessian-free steps: {last:?}");
}

#[test]
fn a_trajectory_is_kept_resumed_and_drawn_on_its_principal_directions() {
    let run = |out: &Path, epochs: &str, extra: &[&str]| {
        let mut args = vec!["--trajectory-every", "2"];
        args.extend(extra);
        train(out, epochs, "sgd(lr=0.1, momentum=0.9)", &args)
    };
    let (whole, parts) = whole_and_resumed("second-path", run, &[]);
    let file = gradus::trajectory::TRAJECTORY_FILE;
    // 200 examples in batches of 40: 10 steps; the start and every second.
    let kept = gradus::trajectory::load_trajectory::<f32>(&whole.join(file), 784 * 16 + 16 + 16 * 10 + 10).unwrap();
    assert_eq!(kept.iter().map(|(s, _)| *s).collect::<Vec<_>>(), vec![0, 2, 4, 6, 8, 10]);
    assert_eq!(std::fs::read(whole.join(file)).unwrap(), std::fs::read(parts.join(file)).unwrap());

    let data = fake_mnist();
    let ck = whole.join("checkpoint.safetensors");
    let plot = whole.join("pca.svg");
    let base =
        ["landscape", "--checkpoint", ck.to_str().unwrap(), "--data-dir", data.to_str().unwrap(), "--subset", "100"];
    let mut args = base.to_vec();
    args.extend(["--directions", "pca", "--run", whole.to_str().unwrap(), "--mode", "plane", "--points", "5"]);
    args.extend(["--plot", plot.to_str().unwrap()]);
    let (code, csv, err) = gradus(&args);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("6 snapshots; the first two principal directions explain"), "{err}");
    assert_eq!(csv.lines().count(), 1 + 25);
    assert!(std::fs::read_to_string(&plot).unwrap().starts_with("<svg"));
    for (extra, says) in [
        (vec!["--directions", "pca"], "needs --run"),
        (vec!["--run", whole.to_str().unwrap()], "--run gives the trajectory"),
        (vec!["--directions", "pca", "--run", data.to_str().unwrap()], "is missing"),
    ] {
        let mut a = base.to_vec();
        a.extend(&extra);
        let (code, _, err) = gradus(&a);
        assert!(code == 2 && err.contains(says), "{extra:?}: {code}: {err}");
    }
}

#[test]
fn sharpness_of_the_gauss_newton_matrix_is_measured_beside_the_hessian_s_and_resumed() {
    let run = |out: &Path, epochs: &str, extra: &[&str]| {
        let mut args = vec!["--sharpness-every", "2"];
        args.extend(extra);
        train(out, epochs, "sgd(lr=0.1)", &args)
    };
    let (whole, parts) = whole_and_resumed("second-ggn", run, &["--sharpness-ggn"]);
    let text = std::fs::read_to_string(whole.join("sharpness.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("step,epoch,lr,sharpness,ggn_sharpness"));
    let rows: Vec<Vec<f64>> = lines.map(|l| l.split(',').map(|v| v.parse().unwrap()).collect()).collect();
    assert_eq!(rows.len(), 5);
    // The Gauss–Newton matrix of cross-entropy is positive semi-definite.
    assert!(rows.iter().all(|r| r[4] > 0.0 && r[3].is_finite()), "{rows:?}");
    assert_eq!(std::fs::read_to_string(parts.join("sharpness.csv")).unwrap(), text);
    let (code, _, err) = run(&parts, "3", &["--resume"]);
    assert!(code == 2 && err.contains("--sharpness-ggn"), "{code}: {err}");
    let (code, _, err) = train(&scratch("second-ggn-alone"), "1", "sgd(lr=0.1)", &["--sharpness-ggn"]);
    assert!(code == 2 && err.contains("--sharpness-every"), "{code}: {err}");
}
