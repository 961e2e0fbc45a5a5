//! The `gradus` binary: formats, worked numbers, and exit code 2 with a
//! message for bad input.

mod common;

use common::{fake_mnist, gradus};

#[test]
fn trace_prints_the_worked_gradient_descent_numbers() {
    // x² from 10, η = 0.2, 10 steps → 0.060466.
    let (code, out, _) =
        gradus(&["trace", "--function", "square", "--start=10", "--optimizer", "sgd(lr=0.2)", "--steps", "10"]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "step,x0,loss");
    assert_eq!(lines[1], "0,10,100");
    assert_eq!(lines.len(), 12);
    let x: f64 = lines[11].split(',').nth(1).unwrap().parse().unwrap();
    assert_eq!((x * 1e6).round() / 1e6, 0.060466);
}

/// A schedule drives every method, Newton and L-BFGS included. Newton on
/// x² with lr = 0.5, then 0.25: 10 → 5 → 3.75. L-BFGS without line search:
/// the first step is lr·min(1, 1/|g|₁)·g = 0.5; the second, with the secant
/// scaling s·y/y·y = 0.5 and lr = 0.25, is 0.25·0.5·19 (0.5 would give 4.75).
#[test]
fn trace_schedules_drive_newton_and_lbfgs() {
    let args =
        ["trace", "--function", "square", "--start=10", "--steps", "2", "--schedule", "step(step_size=1, gamma=0.5)"];
    let (code, out, err) = gradus(&[&args[..], &["--optimizer", "newton(lr=0.5)"]].concat());
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().skip(2).collect::<Vec<_>>(), ["1,5,25", "2,3.75,14.0625"]);
    let (code, out, err) = gradus(&[&args[..], &["--optimizer", "lbfgs(lr=0.5, max_iter=1)"]].concat());
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().skip(2).collect::<Vec<_>>(), ["1,9.5,90.25", "2,7.125,50.765625"]);
}

#[test]
fn hessian_classifies_points_and_speaks_json() {
    let (code, out, _) = gradus(&["hessian", "--function", "saddle", "--at=0,0", "--format", "json"]);
    assert_eq!(code, 0);
    assert_eq!(
        out.trim(),
        r#"{"point": [0, 0], "value": 0, "gradient": [0, 0], "hessian": [[2, 0], [0, -2]], "eigenvalues": [-2, 2], "kind": "saddle", "condition_number": 1, "max_stable_lr": 1}"#
    );
    let (_, out, _) = gradus(&["hessian", "--function", "himmelblau", "--at=3,2"]);
    assert!(out.contains("kind              minimum"), "{out}");
    let (_, out, _) = gradus(&["hessian", "--function", "rosenbrock", "--at=0,0"]);
    assert!(out.contains("kind              not critical"), "{out}");
}

#[test]
fn schedule_rows_are_the_rates_in_force_for_each_step() {
    let (code, out, _) =
        gradus(&["schedule", "step(step_size=2, gamma=0.5)", "--lr", "0.1", "--steps", "5", "--momentum", "0.9"]);
    assert_eq!(code, 0);
    assert_eq!(out, "step,lr,momentum\n0,0.1,0.9\n1,0.1,0.9\n2,0.05,0.9\n3,0.05,0.9\n4,0.025,0.9\n");
    let metrics = std::env::temp_dir().join(format!("gradus-cli-metrics-{}", std::process::id()));
    std::fs::write(&metrics, "1\n1\n1\n1\n").unwrap();
    let m = metrics.to_str().unwrap();
    let (code, out, _) = gradus(&[
        "schedule",
        "plateau(patience=1, factor=0.5)",
        "--lr",
        "1",
        "--steps",
        "4",
        "--metrics",
        m,
        "--format",
        "json",
    ]);
    assert_eq!(code, 0);
    assert!(out.contains(r#"{"step": 3, "lr": 0.5, "momentum": null}"#), "{out}");
}

#[test]
fn bad_input_exits_2_and_says_what_is_accepted() {
    let cases: [(&[&str], &str); 5] = [
        (
            &["trace", "--function", "rosen", "--start=1,2", "--optimizer", "adam"],
            "accepted: square, rosenbrock, himmelblau, ravine, saddle",
        ),
        (
            &["trace", "--function", "rosenbrock", "--start=1", "--optimizer", "adam"],
            "has 1 coordinates, the function takes 2",
        ),
        (
            &["trace", "--function", "ravine", "--start=1,2", "--optimizer", "adam(lrr=1)"],
            "unknown key `lrr`; accepted: lr,",
        ),
        (&["schedule", "cosine(t_max=0)", "--lr", "1", "--steps", "3"], "cosine: `t_max` must be positive, got 0"),
        (&["hessian", "--function", "saddle"], "--at"),
    ];
    for (args, message) in cases {
        let (code, _, err) = gradus(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
    }
}

/// A tiny MNIST-shaped dataset (random-ish pixels) in a temporary directory.
#[test]
fn train_resumes_to_the_same_checkpoint_bytes_and_compare_ranks() {
    let data = fake_mnist();
    let d = data.to_str().unwrap();
    let out = |name: &str| std::env::temp_dir().join(format!("gradus-cli-run-{}-{name}", std::process::id()));
    let (a, b) = (out("a"), out("b"));
    let common = ["--data", "mnist", "--data-dir", d, "--model", "mlp(784, 16, 10, dropout=0.2)", "--batch-size", "32"];
    let run = |dir: &std::path::Path, epochs: &str, resume: bool| {
        let mut args = vec!["train"];
        args.extend(common);
        args.extend([
            "--optimizer",
            "sgd(lr=0.05, momentum=0.9)",
            "--schedule",
            "step(step_size=1, gamma=0.5)",
            "--epochs",
            epochs,
            "--out",
            dir.to_str().unwrap(),
        ]);
        if resume {
            args.push("--resume");
        }
        let (code, _, err) = gradus(&args);
        assert_eq!(code, 0, "{err}");
    };
    run(&a, "3", false);
    run(&b, "1", false);
    run(&b, "3", true);
    let bytes = |dir: &std::path::Path| std::fs::read(dir.join("checkpoint.safetensors")).unwrap();
    assert_eq!(bytes(&a), bytes(&b), "a resumed run ends with the same checkpoint");
    let metrics = std::fs::read_to_string(b.join("metrics.csv")).unwrap();
    assert_eq!(metrics.lines().count(), 4);
    assert!(metrics.starts_with("epoch,train_loss,train_accuracy,test_loss,test_accuracy,lr,seconds"));
    assert!(b.join("learning_curve.svg").is_file());

    let c = out("c");
    let mut args = vec!["compare"];
    args.extend(common);
    args.extend(["--optimizers", "sgd(lr=0.05); adam(lr=1e-3)", "--epochs", "1", "--out", c.to_str().unwrap()]);
    let (code, stdout, err) = gradus(&args);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.starts_with("rank,optimizer,test_accuracy,test_loss\n1,"), "{stdout}");
    assert!(c.join("learning_curves.svg").is_file());

    let (code, _, err) =
        gradus(&["train", "--data", "mnist", "--data-dir", "/nonexistent", "--out", c.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("mnist not found") && err.contains("apt-get install dataset-fashion-mnist"), "{err}");
}

#[test]
fn models_that_do_not_fit_the_data_exit_2_before_training() {
    let data = fake_mnist();
    let d = data.to_str().unwrap();
    let out = std::env::temp_dir().join(format!("gradus-cli-misfit-{}", std::process::id()));
    let cases = [
        (
            "seq(conv2d(3, 8, 3), flatten, linear(5408, 10))",
            "item 0, conv2d(3, 8, 3): Conv2d needs [N, 3, H, W], got [N, 1, 28, 28]",
        ),
        (
            "seq(conv2d(1, 8, 3), relu, flatten, linear(100, 10))",
            "item 3, linear(100, 10): Linear(100 -> 10) needs [N, 100], got [N, 5408]",
        ),
        ("seq(conv2d(1, 8, 3), flatten, linear(5408, 5))", "5 outputs, fewer than the data's 10 classes"),
        ("mlp(100, 16, 10)", "needs [N, 100], got [N, 784]"),
        ("seq(conv2d(1, 8, 3, padding=same, stride=2))", "padding=same needs stride 1"),
        ("seq(maxpool2d(3, padding=2))", "at most half"),
    ];
    for (model, message) in cases {
        let (code, _, err) =
            gradus(&["train", "--data", "mnist", "--data-dir", d, "--model", model, "--out", out.to_str().unwrap()]);
        assert_eq!(code, 2, "{model}: {err}");
        assert!(err.contains(message), "{model}: {err}");
        assert!(!out.join("checkpoint.safetensors").exists(), "{model}: nothing is written");
    }
}

#[test]
fn a_small_cnn_trains_from_the_command_line() {
    let data = fake_mnist();
    let out = std::env::temp_dir().join(format!("gradus-cli-cnn-{}", std::process::id()));
    let model = "seq(conv2d(1, 4, 3, padding=1), batchnorm2d(4), relu, maxpool2d(2), flatten, linear(784, 10))";
    let (code, _, err) = gradus(&[
        "train",
        "--data",
        "mnist",
        "--data-dir",
        data.to_str().unwrap(),
        "--model",
        model,
        "--epochs",
        "1",
        "--batch-size",
        "50",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");
    let ck = gradus::nn::Checkpoint::load(out.join("checkpoint.safetensors")).unwrap();
    for name in
        ["model.0.weight", "model.0.bias", "model.1.running_mean", "model.1.num_batches_tracked", "model.5.weight"]
    {
        assert!(ck.contains(name), "{name} missing");
    }
}

#[test]
fn augment_options_are_checked_and_change_the_run() {
    let data = fake_mnist();
    let d = data.to_str().unwrap();
    let out = |n: &str| std::env::temp_dir().join(format!("gradus-cli-augment-{}-{n}", std::process::id()));
    let cnn = "seq(conv2d(1, 2, 3), relu, flatten, linear(1352, 10))";
    let bad = [
        (cnn, "crop=-1", "`crop` must be a non-negative integer"),
        (cnn, "mean=0.5", "give mean and std together"),
        (cnn, "mean=0.5, std=0", "std must be positive"),
        (cnn, "rotate=10", "unknown key `rotate`"),
        ("mlp(784, 10)", "flip=true", "--augment needs image inputs"),
    ];
    for (model, aug, message) in bad {
        let (code, _, err) = gradus(&[
            "train",
            "--data",
            "mnist",
            "--data-dir",
            d,
            "--model",
            model,
            "--augment",
            aug,
            "--out",
            out("bad").to_str().unwrap(),
        ]);
        assert_eq!(code, 2, "{aug}: {err}");
        assert!(err.contains(message), "{aug}: {err}");
    }
    let run = |name: &str, aug: Option<&str>| {
        let dir = out(name);
        let mut args =
            vec!["train", "--data", "mnist", "--data-dir", d, "--model", cnn, "--epochs", "1", "--batch-size", "50"];
        args.extend(["--out", dir.to_str().unwrap()]);
        if let Some(a) = aug {
            args.extend(["--augment", a]);
        }
        let (code, _, err) = gradus(&args);
        assert_eq!(code, 0, "{err}");
        std::fs::read(dir.join("checkpoint.safetensors")).unwrap()
    };
    let plain = run("plain", None);
    let augmented = run("aug", Some("crop=2, flip=true, mean=0.5, std=0.25"));
    assert_eq!(augmented, run("aug2", Some("crop=2, flip=true, mean=0.5, std=0.25")), "augmented runs repeat exactly");
    assert_ne!(plain, augmented);
}

#[test]
fn a_resume_with_another_configuration_is_refused_naming_each_difference() {
    let data = fake_mnist();
    let d = data.to_str().unwrap();
    let dir = std::env::temp_dir().join(format!("gradus-cli-config-{}", std::process::id()));
    let o = dir.to_str().unwrap();
    let model = "seq(conv2d(1, 2, 3), relu, flatten, linear(1352, 10))";
    let base = ["train", "--data", "mnist", "--data-dir", d, "--model", model, "--batch-size", "50", "--out", o];
    let (code, _, err) = gradus(&[&base[..], &["--epochs", "1"]].concat());
    assert_eq!(code, 0, "{err}");
    let ck = gradus::nn::Checkpoint::load(dir.join("checkpoint.safetensors")).unwrap();
    assert_eq!(ck.metadata("config.model"), Some(model));
    assert_eq!(ck.metadata("config.seed"), Some("0"));
    assert_eq!(ck.metadata("config.world_size"), Some("1"));
    let before = std::fs::read(dir.join("checkpoint.safetensors")).unwrap();
    let (code, _, err) =
        gradus(&[&base[..], &["--epochs", "2", "--resume", "--seed", "1", "--optimizer", "sgd(lr=0.1)"]].concat());
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is a run made with other settings than this one's"), "{err}");
    assert!(!err.contains("does not fit the model"), "{err}");
    assert!(err.contains("the run was made with --seed 0, this one gives --seed 1"), "{err}");
    assert!(
        err.contains("the run was made with --optimizer adam(lr=1e-3), this one gives --optimizer sgd(lr=0.1)"),
        "{err}"
    );
    assert_eq!(std::fs::read(dir.join("checkpoint.safetensors")).unwrap(), before, "nothing was changed");
    // Specs compare by meaning: spaces, key order, positions and defaults
    // written out are the same run; an augmentation that does nothing is none.
    let respelled = "seq( conv2d(in=1, out=2, kernel=3), relu, flatten, linear(1352, 10) )";
    let mut again = base.to_vec();
    again[6] = respelled;
    let same = ["--optimizer", "adam( betas=(0.9, 0.999), lr=0.001 )", "--augment", "", "--schedule-every", "epoch"];
    let (code, _, err) = gradus(&[&again[..], &["--epochs", "2", "--resume"], &same[..]].concat());
    assert_eq!(code, 0, "the same configuration resumes: {err}");
    let (code, _, err) = gradus(&[&base[..], &["--epochs", "3", "--resume", "--optimizer", "adam(lr=0.002)"]].concat());
    assert_eq!(code, 2, "{err}");
}

#[test]
fn flush_denormal_is_recorded_and_a_resume_must_match_it() {
    let data = fake_mnist();
    let d = data.to_str().unwrap();
    let dir = std::env::temp_dir().join(format!("gradus-cli-ftz-{}", std::process::id()));
    let o = dir.to_str().unwrap();
    let model = "mlp(784, 16, 10)";
    let base = ["train", "--data", "mnist", "--data-dir", d, "--model", model, "--batch-size", "50", "--out", o];
    let (code, _, err) = gradus(&[&base[..], &["--epochs", "1", "--flush-denormal"]].concat());
    assert_eq!(code, 0, "{err}");
    let ck = gradus::nn::Checkpoint::load(dir.join("checkpoint.safetensors")).unwrap();
    assert_eq!(ck.metadata("config.flush_denormal"), Some("true"));
    let before = std::fs::read(dir.join("checkpoint.safetensors")).unwrap();
    let (code, _, err) = gradus(&[&base[..], &["--epochs", "2", "--resume"]].concat());
    assert!(code == 2 && err.contains("give --flush-denormal"), "{code}: {err}");
    assert_eq!(std::fs::read(dir.join("checkpoint.safetensors")).unwrap(), before, "nothing was changed");
    let (code, _, err) = gradus(&[&base[..], &["--epochs", "2", "--resume", "--flush-denormal"]].concat());
    assert_eq!(code, 0, "the same setting resumes: {err}");
    // A run without it refuses a resume that would flush.
    let (code, _, err) = gradus(&[&base[..], &["--epochs", "1", "--overwrite"]].concat());
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = gradus(&[&base[..], &["--epochs", "2", "--resume", "--flush-denormal"]].concat());
    assert!(code == 2 && err.contains("the run was made without --flush-denormal"), "{code}: {err}");
}
