//! The command line under careless input, continued: outputs that must not
//! be replaced, runs that must not be left half-made, batch sizes batch norm
//! cannot train on, and bad input that must be exit 2 (see hostile.rs for
//! the rules every case follows).

mod common;

use common::cases::{check, train};
use common::{fake_mnist, gradus, scratch};

/// `gradus train` on the small data set into `out`, with `args` (model,
/// epochs, batch size, …) after the data flags.
fn train_into(out: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let data = fake_mnist();
    let mut all =
        vec!["train", "--data", "mnist", "--data-dir", data.to_str().unwrap(), "--out", out.to_str().unwrap()];
    all.extend(args);
    gradus(&all)
}

#[test]
fn a_last_batch_batch_norm_cannot_train_on_is_left_out_and_said() {
    // 200 examples in batches of 199: the last batch holds one.
    for model in [
        "mlp(784, 16, 10, batch_norm=true)",
        "seq(conv2d(1, 4, 3), adaptive_avgpool2d(1), batchnorm2d(4), flatten, linear(4, 10))",
    ] {
        let out = scratch("hostile-last-batch");
        let (code, _, err) =
            train_into(&out, &["--epochs", "2", "--batch-size", "199", "--model", model, "--overwrite"]);
        assert_eq!(code, 0, "{model}: {err}");
        assert!(err.contains("the last batch of each epoch (1 of 200 examples) is left out"), "{model}: {err}");
        assert_eq!(err.matches("is left out").count(), 1, "said once: {err}");
    }
    // Without batch norm the last batch of one is trained on, silently.
    let out = scratch("hostile-last-batch-plain");
    let (code, _, err) = train_into(&out, &["--epochs", "1", "--batch-size", "199", "--model", "mlp(784, 16, 10)"]);
    assert!(code == 0 && !err.contains("left out"), "{err}");
    // lr-find refuses a batch of one for batch norm too.
    let data = fake_mnist();
    let (code, _, err) = gradus(&[
        "lr-find",
        "--data",
        "mnist",
        "--data-dir",
        data.to_str().unwrap(),
        "--batch-size",
        "1",
        "--model",
        "mlp(784, 16, 10, batch_norm=true)",
        "--optimizer",
        "sgd(lr=0.1)",
    ]);
    assert!(code == 2 && err.contains("more than one value per channel"), "{code}: {err}");
}

#[test]
fn plots_never_replace_an_input_and_replace_a_file_only_when_asked() {
    let dir = scratch("hostile-plot-outputs");
    let data = fake_mnist();
    let d = data.to_str().unwrap();
    // A checkpoint to analyse.
    let run = dir.join("run");
    let (code, _, err) = train_into(&run, &["--epochs", "1", "--batch-size", "50", "--model", "mlp(784, 8, 10)"]);
    assert_eq!(code, 0, "{err}");
    let ck = run.join("checkpoint.safetensors");
    let c = ck.to_str().unwrap();
    let before = std::fs::read(&ck).unwrap();
    for args in [
        vec!["curvature", "--checkpoint", c, "--data-dir", d, "--plot", c],
        vec!["curvature", "--checkpoint", c, "--data-dir", d, "--plot", c, "--overwrite"],
        vec!["landscape", "--checkpoint", c, "--data-dir", d, "--plot", c],
        vec!["landscape", "--checkpoint", c, "--data-dir", d, "--to", c, "--plot", c, "--overwrite"],
    ] {
        let (code, out, err) = gradus(&args);
        assert!(code == 2 && err.contains("is also an input of this command"), "{args:?}: {code}: {err}");
        assert!(out.is_empty(), "{args:?}: {out}");
        assert_eq!(std::fs::read(&ck).unwrap(), before, "{args:?} changed the checkpoint");
    }
    let metrics = dir.join("metrics.txt");
    std::fs::write(&metrics, "1\n2\n").unwrap();
    let m = metrics.to_str().unwrap();
    let (code, _, err) = gradus(&["schedule", "plateau()", "--lr", "0.1", "--steps", "2", "--metrics", m, "--plot", m]);
    assert!(code == 2 && err.contains("is also an input"), "{code}: {err}");
    assert_eq!(std::fs::read_to_string(&metrics).unwrap(), "1\n2\n");
    // A file that exists is kept unless --overwrite is given.
    let plot = dir.join("plot.svg");
    let p = plot.to_str().unwrap();
    let commands: Vec<Vec<&str>> = vec![
        vec!["trace", "--function", "square", "--start=1", "--optimizer", "sgd(lr=0.1)", "--steps", "3", "--plot", p],
        vec!["schedule", "step(step_size=2)", "--lr", "0.1", "--steps", "4", "--plot", p],
        vec![
            "lr-find",
            "--data-dir",
            d,
            "--model",
            "mlp(784, 8, 10)",
            "--optimizer",
            "sgd(lr=0.1)",
            "--num-iter",
            "5",
            "--plot",
            p,
        ],
        vec!["curvature", "--checkpoint", c, "--data-dir", d, "--top", "1", "--plot", p],
        vec!["landscape", "--checkpoint", c, "--data-dir", d, "--points", "3", "--plot", p],
    ];
    for args in commands {
        std::fs::write(&plot, "mine").unwrap();
        let (code, out, err) = gradus(&args);
        assert!(code == 2 && err.contains("exists; give --overwrite"), "{args:?}: {code}: {err}");
        assert!(out.is_empty(), "{args:?}: {out}");
        assert_eq!(std::fs::read_to_string(&plot).unwrap(), "mine", "{args:?}");
        let mut again = args.clone();
        again.push("--overwrite");
        let (code, _, err) = gradus(&again);
        assert_eq!(code, 0, "{again:?}: {err}");
        assert!(std::fs::read_to_string(&plot).unwrap().starts_with("<svg"), "{again:?}");
    }
}

#[test]
fn bad_input_that_used_to_exit_1_or_3_is_exit_2_naming_the_key() {
    let conv = "seq(conv2d(1, 4, 3), flatten, linear(2704, 10))";
    check(vec![
        train("class", "c1", &["--model", "seq(flatten)"], 2, "the model has no trainable parameters"),
        train(
            "class",
            "c2",
            &["--model", "seq(flatten, linear(784, 10), prelu(1, init=1e39))"],
            2,
            "prelu(1, init=1e39): `init` = 1e39 is infinite in f32",
        ),
        train(
            "class",
            "c3",
            &["--model", "seq(flatten, batchnorm1d(784, eps=1e-300), linear(784, 10))"],
            2,
            "batchnorm1d(784, eps=1e-300): `eps` = 1e-300 is 0 in f32",
        ),
        train("class", "c4", &["--model", conv, "--augment", "mean=0.1, std=(1, 2)"], 2, "1 means and 2 standard"),
        train("class", "c5", &["--model", conv, "--augment", "mean=(0.1, 0.2), std=(1, 2)"], 2, "1 channel(s)"),
        train(
            "class",
            "c6",
            &["--model", conv, "--augment", "mean=0, std=1e-50"],
            2,
            "std must be positive and finite in f32, got 1e-50",
        ),
        train(
            "class",
            "c7",
            &["--model", conv, "--augment", "mean=1e39, std=1"],
            2,
            "mean must be finite in f32, got 1e39",
        ),
    ]);
}

#[test]
fn exit_2_and_exit_3_leave_no_run_behind() {
    let data = fake_mnist();
    let d = data.to_str().unwrap();
    let base =
        ["--data", "mnist", "--data-dir", d, "--epochs", "1", "--batch-size", "50", "--model", "mlp(784, 8, 10)"];
    // compare into a directory whose second run exists: refused before the
    // first optimiser trains.
    let out = scratch("hostile-compare-held");
    let second = out.join("1");
    let (code, _, err) = gradus(&[&["train"], &base[..], &["--out", second.to_str().unwrap()]].concat());
    assert_eq!(code, 0, "{err}");
    let compare =
        [&["compare"], &base[..], &["--optimizers", "sgd(lr=0.1); adam(lr=1e-3)", "--out", out.to_str().unwrap()]]
            .concat();
    let (code, _, err) = gradus(&compare);
    assert!(code == 2 && err.contains("already holds a run") && err.contains("--overwrite"), "{code}: {err}");
    assert!(!err.contains("--resume"), "compare has no --resume: {err}");
    assert!(!out.join("0").join("metrics.csv").exists(), "the first run trained before the refusal");
    // A fresh run that diverges in its first epoch leaves no file of a run:
    // the same command with a sound rate then starts afresh.
    let out = scratch("hostile-diverged-first");
    let o = out.to_str().unwrap();
    let (code, _, err) = gradus(&[&["train"], &base[..], &["--out", o, "--optimizer", "sgd(lr=1e38)"]].concat());
    assert!(code == 3 && err.contains("nothing was saved"), "{code}: {err}");
    for f in ["metrics.csv", "checkpoint.safetensors", "learning_curve.svg"] {
        assert!(!out.join(f).exists(), "{f} left behind");
    }
    let (code, _, err) = gradus(&[&["train"], &base[..], &["--out", o, "--optimizer", "sgd(lr=0.1)"]].concat());
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_refused_run_leaves_no_directory_behind() {
    let base = scratch("hostile-no-trace");
    let fresh = base.join("a").join("b");
    let mlp = ["--model", "mlp(784, 8, 10)", "--epochs", "3", "--batch-size", "100"];
    for (extra, says) in [
        (&["--optimizer", "bogus"][..], "unknown optimiser"),
        (&["--resume"][..], "holds no checkpoint"),
        (
            &["--schedule", "onecycle(max_lr=1, total_steps=2)"][..],
            "the run takes 3 epochs (it steps once an epoch); give it total_steps=3",
        ),
    ] {
        let (code, _, err) = train_into(&fresh, &[&mlp[..], extra].concat());
        assert!(code == 2 && err.contains(says), "{extra:?}: {code}: {err}");
        assert!(!base.join("a").exists(), "{extra:?} left {:?}", std::fs::read_dir(&base).unwrap().collect::<Vec<_>>());
    }
    let data = fake_mnist();
    let (code, _, err) = gradus(
        &[
            &["compare", "--data-dir", data.to_str().unwrap(), "--out", fresh.to_str().unwrap()][..],
            &mlp[..],
            &["--optimizers", "sgd(lr=0.1); adam", "--schedule", "onecycle(max_lr=1, total_steps=2)"],
        ]
        .concat(),
    );
    assert!(code == 2 && err.contains("total_steps"), "{code}: {err}");
    assert!(!base.join("a").exists(), "compare left its directory");
    // A directory that existed stays, whatever happens.
    std::fs::create_dir_all(&fresh).unwrap();
    let (code, _, _) = train_into(&fresh, &[&mlp[..], &["--optimizer", "bogus"]].concat());
    assert!(code == 2 && fresh.is_dir());
}
