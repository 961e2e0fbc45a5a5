//! Every first-order optimiser from `gradus train` and `gradus trace` (K-FAC
//! from `train` alone: its factors need layers), and
//! Muon's split of a network: its hidden matrices to Muon, the first and
//! last layers and every other tensor to its fallback.

mod common;

use common::{fake_mnist, gradus, scratch};
use std::path::Path;

/// The first-order methods (what `gradus train` takes), each with the rate
/// it needs where it has no default (and lookahead and sam around Adam).
fn first_order() -> Vec<String> {
    // A method without a default rate does not parse without one;
    // schedule-free SGD's default, 1, is far too large for the MLP.
    let needs_rate = |n: &str| n == "schedule_free_sgd" || gradus::optim::parse::<f32>(n).is_err();
    gradus::optim::NAMES
        .iter()
        .filter(|n| !["newton", "lbfgs"].contains(n))
        .map(|n| match *n {
            "lookahead" => "lookahead(adam(lr=0.01), k=3)".to_string(),
            "sam" => "sam(adam(lr=0.01), rho=0.05)".to_string(),
            n if needs_rate(n) => format!("{n}(lr=0.01)"),
            n => n.to_string(),
        })
        .collect()
}

/// `gradus train` on the fake data set: `model` with `optimizer`, batches
/// of 50, into `out`, with `extra` flags.
fn train(out: &Path, model: &str, optimizer: &str, epochs: &str, extra: &[&str]) -> (i32, String, String) {
    let data = fake_mnist();
    let mut args = vec![
        "train",
        "--data-dir",
        data.to_str().unwrap(),
        "--model",
        model,
        "--optimizer",
        optimizer,
        "--epochs",
        epochs,
        "--batch-size",
        "50",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    gradus(&args)
}

#[test]
fn every_first_order_optimiser_trains_and_traces() {
    for spec in first_order() {
        let out = scratch(&format!("optimizers-{}", spec.split('(').next().unwrap()));
        let (code, _, err) = train(&out, "mlp(784, 8, 10)", &spec, "1", &[]);
        assert_eq!(code, 0, "{spec}: {err}");
        let (code, csv, err) =
            gradus(&["trace", "--function", "rosenbrock", "--start=-1.5,2", "--optimizer", &spec, "--steps", "5"]);
        if spec.starts_with("kfac") {
            // Its factors need layers (tests/second_order.rs).
            assert_eq!(code, 2, "{spec}: {err}");
            continue;
        }
        assert_eq!(code, 0, "{spec}: {err}");
        assert_eq!(csv.lines().count(), 7, "{spec}: {csv}");
    }
}

#[test]
fn muon_gives_the_first_and_last_layers_and_the_vectors_to_its_fallback() {
    let out = scratch("optimizers-muon");
    let muon = "muon(lr=0.02, fallback=adam(lr=0.005))";
    let train = |epochs: &str, extra: &[&str]| train(&out, "mlp(784, 16, 12, 10)", muon, epochs, extra);
    let (code, _, err) = train("1", &[]);
    assert_eq!(code, 0, "{err}");
    let ck = gradus::nn::Checkpoint::load(out.join("checkpoint.safetensors")).unwrap();
    let mut state: Vec<&str> = ck.names().filter(|n| n.starts_with("optim.") && !n.ends_with(".step")).collect();
    state.sort_unstable();
    // The hidden 16 → 12 matrix takes Muon's momentum; the input and
    // output layers and the biases take Adam's moments.
    let adam = |p: &str| [format!("optim.{p}.exp_avg"), format!("optim.{p}.exp_avg_sq")];
    let mut want: Vec<String> =
        ["0.weight", "0.bias", "2.bias", "4.weight", "4.bias"].iter().flat_map(|p| adam(p)).collect();
    want.push("optim.2.weight.momentum_buffer".into());
    want.sort_unstable();
    assert_eq!(state, want);
    assert!(ck.contains("optim_group.1.lr"), "the fallback's group and rate are saved");
    // Resumed, the run goes on as one run of two epochs.
    let (code, _, err) = train("2", &["--resume"]);
    assert_eq!(code, 0, "{err}");
    let resumed = std::fs::read(out.join("checkpoint.safetensors")).unwrap();
    let whole = scratch("optimizers-muon-whole");
    let (code, _, err) = self::train(&whole, "mlp(784, 16, 12, 10)", muon, "2", &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(resumed, std::fs::read(whole.join("checkpoint.safetensors")).unwrap());
}

#[test]
fn muon_inside_a_wrapper_gives_the_wrapped_fallback_the_first_and_last_layers() {
    let out = scratch("optimizers-lookahead-muon");
    let spec = "lookahead(muon(lr=0.02, fallback=adam(lr=0.005)), k=3)";
    let (code, _, err) = train(&out, "mlp(784, 16, 12, 10)", spec, "1", &[]);
    assert_eq!(code, 0, "{err}");
    let ck = gradus::nn::Checkpoint::load(out.join("checkpoint.safetensors")).unwrap();
    for name in
        ["optim.0.weight.exp_avg", "optim.0.weight.slow", "optim.2.weight.momentum_buffer", "optim.2.weight.slow"]
    {
        assert!(ck.contains(name), "{name}");
    }
    assert!(!ck.contains("optim.0.weight.momentum_buffer"), "the first layer goes to the fallback");
}

#[test]
fn gradient_rules_are_recorded_and_a_resume_must_keep_them() {
    let out = scratch("optimizers-rules");
    let train = |epochs: &str, extra: &[&str]| train(&out, "mlp(784, 8, 10)", "adam(lr=0.01)", epochs, extra);
    let rules = ["--clip-grad-norm", "1.5", "--clip-grad-agc", "0.2", "--skip-nonfinite", "3", "--accumulate", "5"];
    let (code, _, err) = train("1", &rules);
    assert_eq!(code, 0, "{err}");
    let ck = gradus::nn::Checkpoint::load(out.join("checkpoint.safetensors")).unwrap();
    for (key, value) in
        [("clip_grad_norm", "1.5"), ("clip_grad_agc", "0.2"), ("skip_nonfinite", "3"), ("accumulate", "5")]
    {
        assert_eq!(ck.metadata(&format!("config.{key}")), Some(value), "{key}");
    }
    let metrics = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert!(metrics.lines().next().unwrap().contains(",skipped,"), "{metrics}");
    // A resume that changes or drops one is refused, naming it.
    let (code, _, err) =
        train("2", &["--resume", "--clip-grad-norm", "1.5", "--clip-grad-agc", "0.2", "--skip-nonfinite", "3"]);
    assert!(code == 2 && err.contains("--accumulate"), "{code}: {err}");
    let mut changed = rules;
    changed[1] = "2";
    let mut args = vec!["--resume"];
    args.extend(changed);
    let (code, _, err) = train("2", &args);
    assert!(
        code == 2 && err.contains("made with --clip-grad-norm 1.5, this one gives --clip-grad-norm 2"),
        "{code}: {err}"
    );
    let mut args = vec!["--resume"];
    args.extend(rules);
    let (code, _, err) = train("2", &args);
    assert_eq!(code, 0, "{err}");
    // Bad values: exit 2 naming the flag and what it takes.
    for (flag, value, says) in [
        ("--clip-grad-norm", "0", "--clip-grad-norm 0: give a positive number"),
        ("--clip-grad-agc", "nan", "--clip-grad-agc NaN: give a positive number"),
        ("--accumulate", "0", "--accumulate 0: give a number of micro-batches from 1 to --batch-size (50)"),
        ("--accumulate", "51", "--accumulate 51: give a number of micro-batches from 1 to --batch-size (50)"),
    ] {
        let (code, _, err) = train("1", &["--overwrite", flag, value]);
        assert!(code == 2 && err.contains(says), "{flag} {value}: {code}: {err}");
    }
}

#[test]
fn no_decay_groups_take_the_decay_off_the_parameters_they_name() {
    let run = |name: &str, optimizer: &str, extra: &[&str]| {
        let out = scratch(&format!("optimizers-no-decay-{name}"));
        let (code, _, err) = train(&out, "mlp(784, 8, 10, batch_norm=true)", optimizer, "1", extra);
        assert_eq!(code, 0, "{name}: {err}");
        let ck = gradus::nn::Checkpoint::load(out.join("checkpoint.safetensors")).unwrap();
        let weights: Vec<(String, Vec<f32>)> = ck
            .names()
            .filter(|n| n.starts_with("model.") && !n.contains("running") && !n.contains("num_batches"))
            .map(|n| (n.to_string(), ck.get::<f32>(n).unwrap().to_vec()))
            .collect();
        (weights, ck)
    };
    let decayed = "adamw(lr=0.01, weight_decay=0.5)";
    // Every parameter undecayed: the run without decay, bit for bit.
    let (all, ck) = run("all", decayed, &["--no-decay", "*"]);
    assert_eq!(all, run("none", "adamw(lr=0.01, weight_decay=0)", &[]).0);
    assert_eq!(ck.metadata("config.no_decay"), Some("*"));
    // Only biases and the batch norm's scale undecayed: a third path,
    // neither the decayed run's nor the undecayed one's.
    let (some, ck) = run("some", decayed, &["--no-decay", "norm,bias"]);
    assert_eq!(ck.metadata("config.no_decay"), Some("bias,norm"));
    assert_ne!(some, all);
    assert_ne!(some, run("decayed", decayed, &[]).0);
    let (code, _, err) =
        train(&scratch("optimizers-no-decay-bad"), "mlp(784, 8, 10)", decayed, "1", &["--no-decay", "*.gamma"]);
    assert!(
        code == 2 && err.contains("--no-decay *.gamma: matches no parameter; the model's are 0.weight, 0.bias"),
        "{err}"
    );
    let signum = scratch("optimizers-no-decay-signum");
    let (code, _, err) = train(&signum, "mlp(784, 8, 10)", "signum(lr=0.1)", "1", &["--no-decay", "bias"]);
    assert!(code == 2 && err.contains("signum has no weight decay to turn off"), "{err}");
}

#[test]
fn an_ema_is_evaluated_saved_and_kept_on_resume() {
    let out = scratch("optimizers-ema");
    let optimizer = "sgd(lr=0.1, momentum=0.9)";
    let train =
        |epochs: &str, extra: &[&str]| train(&out, "mlp(784, 8, 10, batch_norm=true)", optimizer, epochs, extra);
    let (code, _, err) = train("1", &["--ema", "0.9"]);
    assert_eq!(code, 0, "{err}");
    let metrics = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    let header: Vec<&str> = metrics.lines().next().unwrap().split(',').collect();
    let row: Vec<&str> = metrics.lines().nth(1).unwrap().split(',').collect();
    let at = header.iter().position(|h| *h == "ema_test_accuracy").expect("an ema_test_accuracy column");
    assert!((0.0..=1.0).contains(&row[at].parse::<f64>().unwrap()), "{metrics}");
    let ck = gradus::nn::Checkpoint::load(out.join("checkpoint.safetensors")).unwrap();
    for name in ["ema.0.weight", "ema.1.running_var", "ema.3.bias"] {
        assert!(ck.contains(name), "{name}");
    }
    assert_eq!(ck.metadata("config.ema"), Some("0.9"));
    let (code, _, err) = train("2", &["--resume"]);
    assert!(code == 2 && err.contains("--ema"), "{code}: {err}");
    let (code, _, err) = train("2", &["--resume", "--ema", "0.9"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = train("1", &["--overwrite", "--ema", "1.5"]);
    assert!(code == 2 && err.contains("--ema 1.5: give a decay from 0 to 1"), "{code}: {err}");
}

#[test]
fn schedule_free_saves_its_evaluation_weights_and_resumes_from_the_trained_ones() {
    let out = scratch("optimizers-schedule-free");
    let spec = "schedule_free_adamw(lr=0.01, betas=(0.9,0.999), warmup_steps=3)";
    let train = |dir: &Path, epochs: &str, extra: &[&str]| train(dir, "mlp(784, 8, 10)", spec, epochs, extra);
    let (code, _, err) = train(&out, "1", &[]);
    assert_eq!(code, 0, "{err}");
    let ck = gradus::nn::Checkpoint::load(out.join("checkpoint.safetensors")).unwrap();
    // `model.` holds x = (y − (1 − β₁)z)/β₁ from the trained y (`train.`)
    // and the state's z, as Optax's schedule_free_eval_params.
    for p in ["0.weight", "0.bias", "2.weight", "2.bias"] {
        let x = ck.get::<f32>(&format!("model.{p}")).unwrap().to_vec();
        let y = ck.get::<f32>(&format!("train.{p}")).unwrap().to_vec();
        let z = ck.get::<f32>(&format!("optim.{p}.z")).unwrap().to_vec();
        assert_ne!(x, y, "{p}: evaluation and trained weights differ");
        let (inv_b1, one_b1) = ((1.0f64 / 0.9) as f32, (1.0f64 - 0.9) as f32);
        let want: Vec<f32> = y.iter().zip(&z).map(|(y, z)| (y - one_b1 * z) * inv_b1).collect();
        assert_eq!(x, want, "{p}");
    }
    // Resumed from y, the run is the uninterrupted one bit for bit.
    let (code, _, err) = train(&out, "2", &["--resume"]);
    assert_eq!(code, 0, "{err}");
    let whole = scratch("optimizers-schedule-free-whole");
    let (code, _, err) = train(&whole, "2", &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read(out.join("checkpoint.safetensors")).unwrap(),
        std::fs::read(whole.join("checkpoint.safetensors")).unwrap()
    );
}

#[test]
fn sam_traces_with_its_second_gradient_and_draws_where_it_took_it() {
    let dir = scratch("optimizers-sam-trace");
    let plot = dir.join("sam.svg");
    let (code, csv, err) = gradus(&[
        "trace",
        "--function",
        "rosenbrock",
        "--start=-1.5,2",
        "--optimizer",
        "sam(sgd(lr=0.001), rho=0.1)",
        "--steps",
        "1",
        "--plot",
        plot.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    // θ₁ = θ₀ − η·∇f(θ₀ + ρ·g/‖g‖), g = ∇f(θ₀).
    let grad = |x: f64, y: f64| [-2.0 * (1.0 - x) - 400.0 * x * (y - x * x), 200.0 * (y - x * x)];
    let g = grad(-1.5, 2.0);
    let norm = (g[0] * g[0] + g[1] * g[1]).sqrt() + 1e-12;
    let g2 = grad(-1.5 + 0.1 * g[0] / norm, 2.0 + 0.1 * g[1] / norm);
    let row: Vec<f64> = csv.lines().nth(2).unwrap().split(',').map(|v| v.parse().unwrap()).collect();
    for (got, want) in row[1..3].iter().zip([-1.5 - 0.001 * g2[0], 2.0 - 0.001 * g2[1]]) {
        assert!((got - want).abs() <= 1e-12, "{csv}");
    }
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(svg.contains("where SAM takes its gradient"), "the perturbed points are drawn");
    let (code, _, err) =
        gradus(&["trace", "--function", "rosenbrock", "--start=-1.5,2", "--optimizer", "sam(rho=0.1)"]);
    assert!(code == 2 && err.contains("`optimizer` is required"), "{err}");
}

#[test]
fn swa_averages_from_its_epoch_and_resumes_exactly() {
    let out = scratch("optimizers-swa");
    let model = "mlp(784, 8, 10, batch_norm=true)";
    let swa = ["--swa-start", "2", "--swa-lr", "0.02", "--swa-anneal-epochs", "2"];
    let train =
        |dir: &Path, epochs: &str, extra: &[&str]| train(dir, model, "sgd(lr=0.1, momentum=0.9)", epochs, extra);
    let (code, _, err) = train(&out, "1", &swa);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = train(&out, "3", &[&["--resume"][..], &swa].concat());
    assert_eq!(code, 0, "{err}");
    let metrics = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    let header: Vec<&str> = metrics.lines().next().unwrap().split(',').collect();
    let (at, lr) = (
        header.iter().position(|h| *h == "swa_test_accuracy").expect("a swa_test_accuracy column"),
        header.iter().position(|h| *h == "lr").unwrap(),
    );
    let rows: Vec<Vec<f64>> =
        metrics.lines().skip(1).map(|l| l.split(',').map(|v| v.parse().unwrap()).collect()).collect();
    assert!(rows[0][at].is_nan() && (0.0..=1.0).contains(&rows[1][at]), "{metrics}");
    // SWALR: halfway to 0.02 after the first averaged epoch, there after the second.
    assert!((rows[1][lr] - 0.06).abs() < 1e-12 && (rows[2][lr] - 0.02).abs() < 1e-12, "{metrics}");
    let ck = gradus::nn::Checkpoint::load(out.join("checkpoint.safetensors")).unwrap();
    assert!(ck.contains("swa.0.weight") && ck.contains("swa.1.running_var"));
    assert_eq!(ck.metadata("config.swa_start"), Some("2"));
    let whole = scratch("optimizers-swa-whole");
    let (code, _, err) = train(&whole, "3", &swa);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read(out.join("checkpoint.safetensors")).unwrap(),
        std::fs::read(whole.join("checkpoint.safetensors")).unwrap()
    );
    let (code, _, err) = train(&out, "4", &["--resume", "--swa-start", "3"]);
    assert!(code == 2 && err.contains("--swa-start"), "{code}: {err}");
    for (flags, want) in [
        (&["--swa-start", "2", "--ema", "0.9"][..], "a run keeps one average"),
        (&["--swa-start", "0"][..], "--swa-start 0: epochs count from 1"),
        (&["--swa-lr", "0.1"][..], "--swa-lr needs --swa-start"),
    ] {
        let (code, _, err) = train(&scratch("optimizers-swa-bad"), "3", flags);
        assert!(code == 2 && err.contains(want), "{flags:?}: {code}: {err}");
    }
}

#[test]
fn a_momentum_schedule_is_recorded_and_checked() {
    let out = scratch("optimizers-momentum-schedule");
    let warm = ["--schedule-momentum", "linear(start_factor=0.5, total_iters=3)"];
    let (code, _, err) = train(&out, "mlp(784, 8, 10)", "adam(lr=0.01)", "1", &warm);
    assert_eq!(code, 0, "{err}");
    let ck = gradus::nn::Checkpoint::load(out.join("checkpoint.safetensors")).unwrap();
    assert_eq!(ck.metadata("config.schedule_momentum"), Some("linear(start_factor=0.5, total_iters=3)"));
    let (code, _, err) = train(&out, "mlp(784, 8, 10)", "adam(lr=0.01)", "2", &["--resume"]);
    assert!(code == 2 && err.contains("--schedule-momentum"), "{code}: {err}");
    let (code, _, err) = train(&scratch("optimizers-momentum-adagrad"), "mlp(784, 8, 10)", "adagrad", "1", &warm);
    assert!(code == 2 && err.contains("adagrad has no momentum"), "{code}: {err}");
}
