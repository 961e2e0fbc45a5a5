//! The command line under careless and hostile input: every case ends with
//! its documented exit code (0 done, 1 environment, 2 bad input, 3
//! diverged) and a message naming the problem, within a deadline (a hang
//! fails), never by a signal (an abort or a panic's exit 101 fails too).

mod common;

use common::cases::{case, check, train};
use common::{fake_mnist, gradus, gradus_in, scratch};
use std::path::Path;

#[test]
fn models_and_data_that_do_not_fit_exit_2_naming_the_layer() {
    check(vec![
        train("fit", "f1", &["--model", "mlp(100, 16, 10)"], 2, "Linear(100 -> 16) needs [N, 100], got [N, 784]"),
        train("fit", "f2", &["--model", "mlp(784, 16, 5)"], 2, "5 outputs, fewer than the data's 10 classes"),
        train("fit", "f3", &["--model", "mlp(784, 16, 10, 1e19)"], 2, "mlp takes positive integer sizes"),
        train("fit", "f4", &["--model", "mlp(784)"], 2, "needs at least input and output sizes"),
        train("fit", "f5", &["--model", "seq(conv2d(3, 8, 3), flatten, linear(5408, 10))"], 2, "item 0"),
        train("fit", "f6", &["--model", "seq(conv2d(1, 8, 30), flatten, linear(8, 10))"], 2, "item 0"),
        train("fit", "f7", &["--model", "seq(flatten, linear(700, 10))"], 2, "item 1"),
        train("fit", "f8", &["--model", "seq(conv2d(1, 4, 3), relu)"], 2, "the loss needs [N, 10]"),
        train("fit", "f9", &["--model", "seq()"], 2, "seq"),
        train("fit", "f10", &["--model", "seq(maxpool2d(64), flatten, linear(1, 10))"], 2, "item 0"),
        // Padding modes that cannot pad this much, as PyTorch refuses them.
        train(
            "fit",
            "f11",
            &["--model", "seq(conv2d(1, 4, 3, padding=28, padding_mode=reflect), flatten, linear(11664, 10))"],
            2,
            "reflect padding of (28, 28) needs each pad shorter than the axis; the axis has 28",
        ),
        train(
            "fit",
            "f12",
            &["--model", "seq(conv2d(1, 4, 3, padding=29, padding_mode=circular), flatten, linear(12996, 10))"],
            2,
            "circular padding of (29, 29) needs each pad at most as long as the axis",
        ),
        train(
            "fit",
            "f13",
            &[
                "--model",
                "seq(maxpool2d(4), conv2d(1, 4, 3, padding=7, padding_mode=reflect), flatten, linear(784, 10))",
            ],
            2,
            "item 1",
        ),
        train(
            "fit",
            "f14",
            &["--model", "seq(conv2d(1, 4, 3), prelu(3), flatten, linear(2704, 10))"],
            2,
            "PRelu(3) needs an input with 3 channels (or features) in dimension 1, got [N, 4, 26, 26]",
        ),
        // Batch norm in training needs more than one value per channel.
        train(
            "fit",
            "f15",
            &["--model", "mlp(784, 16, 10, batch_norm=true)", "--batch-size", "1"],
            2,
            "BatchNorm1d(16) in training needs more than one value per channel",
        ),
        train(
            "fit",
            "f16",
            &[
                "--model",
                "seq(conv2d(1, 4, 3), adaptive_avgpool2d(1), batchnorm2d(4), flatten, linear(4, 10))",
                "--batch-size",
                "1",
            ],
            2,
            "BatchNorm2d(4) in training needs more than one value per channel (batch × positions), got input [1, 4, 1, 1]",
        ),
    ]);
}

#[test]
fn sizes_that_cannot_fit_in_memory_are_refused_before_allocating() {
    check(vec![
        train("memory", "m1", &["--model", "mlp(784, 100000000, 10)"], 2, "need about"),
        train("memory", "m2", &["--model", "mlp(784, 999999999, 999999999, 10)"], 2, "stored values"),
        train("memory", "m3", &["--batch-size", "1000000000000"], 2, "layer outputs per example"),
        case(
            "memory",
            &["schedule", "constant", "--lr", "0.1", "--steps", "1000000000000", "--plot", "x.svg"],
            2,
            "--plot keeps every row",
        ),
        case(
            "memory",
            &[
                "trace",
                "--function",
                "square",
                "--start=1",
                "--optimizer",
                "sgd",
                "--steps",
                "5000000",
                "--plot",
                "x.svg",
            ],
            2,
            "plot at most 999999 steps",
        ),
        case(
            "memory",
            &["trace", "--function", "square", "--start=1", "--optimizer", "sgd", "--steps", "1e12"],
            2,
            "invalid value '1e12'",
        ),
    ]);
}

/// Rows stream: a reader that stops after a few lines ends a run of a
/// trillion steps at once, with exit 0 and nothing on stderr.
#[test]
fn long_outputs_stream_and_stop_with_their_reader() {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gradus"))
        .args(["schedule", "cosine(t_max=1000)", "--lr", "0.1", "--steps", "1000000000000"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "step,lr,momentum");
    assert_eq!(lines.next().unwrap().unwrap(), "0,0.1,");
    drop(lines);
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(start.elapsed() < common::DEADLINE, "it went on after its reader left");
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!((status.code(), err.as_str()), (Some(0), ""));
}

#[test]
fn plots_of_diverging_and_overflowing_runs_finish() {
    let dir = scratch("hostile-plots");
    let d = |f: &str| dir.join(f).to_str().unwrap().to_string();
    let (a, b, c) = (d("a.svg"), d("b.svg"), d("c.svg"));
    check(vec![
        case(
            "plot",
            &[
                "trace",
                "--function",
                "square",
                "--start=1e100",
                "--optimizer",
                "sgd(lr=1.1)",
                "--steps",
                "2000",
                "--plot",
                &a,
            ],
            3,
            "the trace diverged at step",
        ),
        case(
            "plot",
            &[
                "trace",
                "--function",
                "himmelblau",
                "--start=4,4",
                "--optimizer",
                "sgd(lr=1)",
                "--steps",
                "100",
                "--plot",
                &b,
            ],
            3,
            "the trace diverged at step",
        ),
        case(
            "plot",
            &["schedule", "exponential(gamma=10)", "--lr", "0.1", "--steps", "1000", "--plot", &c],
            3,
            "the rate at step 309 is inf",
        ),
        case(
            "plot",
            &["trace", "--function", "square", "--start=1e200", "--optimizer", "sgd", "--plot", &d("e.svg")],
            2,
            "square is inf at --start=1e200",
        ),
    ]);
    assert!(std::fs::read_to_string(&a).unwrap().contains("iterates outside the window"));
    assert!(std::fs::read_to_string(&c).unwrap().contains("values left out"));
    // The rows up to the divergence were printed.
    let (code, out, _) =
        gradus(&["schedule", "exponential(gamma=10)", "--lr", "0.1", "--steps", "1000", "--format", "json"]);
    assert_eq!(code, 3);
    assert_eq!(out.lines().count(), 1 + 310 + 1, "[, rows 0 … 309, ]");
    assert!(out.ends_with("{\"step\": 309, \"lr\": null, \"momentum\": null}\n]\n"), "{}", &out[out.len() - 80..]);
}

#[test]
fn a_diverging_run_exits_3_and_keeps_nothing_non_finite() {
    let out = scratch("hostile-diverge");
    let data = fake_mnist();
    let base = ["train", "--data", "mnist", "--data-dir", data.to_str().unwrap(), "--batch-size", "50"];
    let o = out.to_str().unwrap();
    // Two good epochs, then a resume with more epochs at the same rate is
    // fine; a run that diverges from the start saves nothing.
    let (code, _, err) = gradus(&[&base[..], &["--epochs", "1", "--out", o, "--optimizer", "sgd(lr=1e38)"]].concat());
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("diverged at epoch 1, step "), "{err}");
    assert!(err.contains("no epoch finished, so nothing was saved"), "{err}");
    assert!(!out.join("checkpoint.safetensors").exists() && !out.join("metrics.csv").exists());
    let (code, _, err) = gradus(
        &[&base[..], &["--epochs", "1", "--out", o, "--optimizer", "sgd(lr=1e38)", "--overwrite", "--detect-anomaly"]]
            .concat(),
    );
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("first non-finite value: anomaly: "), "{err}");
    let (code, _, err) =
        gradus(&[&base[..], &["--epochs", "1", "--out", o, "--optimizer", "adam(lr=1e300)", "--overwrite"]].concat());
    assert_eq!(code, 3, "{err}");
    // compare: the diverging optimiser ranks last with empty numbers, the
    // others finish, and the command ends with exit 3.
    let c = scratch("hostile-compare");
    let mut args = vec!["compare"];
    args.extend(&base[1..]);
    args.extend(["--epochs", "1", "--out", c.to_str().unwrap(), "--optimizers", "sgd(lr=1e38); sgd(lr=0.01)"]);
    let (code, out, err) = gradus(&args);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("1 of 2 runs diverged: sgd(lr=1e38)"), "{err}");
    let rows: Vec<&str> = out.lines().collect();
    assert!(rows[1].starts_with("1,\"sgd(lr=0.01)\",") && rows[2] == "2,\"sgd(lr=1e38)\",,", "{out}");
    assert!(c.join("learning_curves.svg").exists() && c.join("1/checkpoint.safetensors").exists());
}

#[test]
fn checkpoints_that_were_changed_are_refused_by_tensor_name() {
    let out = scratch("hostile-ckpt");
    let data = fake_mnist();
    let o = out.to_str().unwrap();
    let args = |epochs: &'static str| -> Vec<String> {
        ["train", "--data", "mnist", "--data-dir", data.to_str().unwrap(), "--batch-size", "50", "--model"]
            .iter()
            .map(|s| s.to_string())
            .chain(["mlp(784, 8, 10)", "--epochs", epochs, "--out", o, "--resume"].map(String::from))
            .collect()
    };
    let first: Vec<String> = args("1").into_iter().filter(|a| a != "--resume").collect();
    let run = |a: &[String]| gradus(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(run(&first).0, 0);
    let path = out.join("checkpoint.safetensors");
    let good = std::fs::read(&path).unwrap();
    let resume_with = |bytes: &[u8], says: &str| {
        std::fs::write(&path, bytes).unwrap();
        let (code, _, err) = run(&args("2"));
        assert_eq!(code, 2, "{says}: {err}");
        assert!(err.contains(says), "{says}: {err}");
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{says}: the refused file changed");
    };
    // A byte flipped in the last tensor's data.
    let mut flipped = good.clone();
    *flipped.last_mut().unwrap() ^= 0x40;
    resume_with(&flipped, "does not match its checksum");
    resume_with(&good[..good.len() / 2], "checkpoint.safetensors");
    resume_with(&[], "checkpoint.safetensors");
    // Tensors rewritten with valid checksums: NaN weights, a counter of
    // no values, epochs without steps.
    let edit = |f: &dyn Fn(&mut gradus::nn::Checkpoint)| {
        let mut ck = gradus::nn::Checkpoint::load(&path).unwrap();
        f(&mut ck);
        let tmp = out.join("edited.safetensors");
        ck.save(&tmp).unwrap();
        std::fs::read(&tmp).unwrap()
    };
    std::fs::write(&path, &good).unwrap();
    let nan = edit(&|ck| ck.insert("model.0.bias", &gradus::tensor::Tensor::<f32>::full(&[8], f32::NAN)));
    resume_with(&nan, "`model.0.bias` holds NaN or Inf");
    // The analysis commands refuse it too, before any output.
    let nan_path = out.join("nan.safetensors");
    std::fs::write(&nan_path, &nan).unwrap();
    std::fs::write(&path, &good).unwrap();
    let (n, g, d) = (nan_path.to_str().unwrap(), path.to_str().unwrap(), data.to_str().unwrap());
    for command in [
        vec!["curvature", "--checkpoint", n, "--data-dir", d],
        vec!["landscape", "--checkpoint", n, "--data-dir", d],
        vec!["landscape", "--checkpoint", g, "--data-dir", d, "--to", n],
    ] {
        let (code, stdout, err) = gradus(&command);
        assert!(code == 2 && err.contains("`model.0.bias` holds NaN or Inf"), "{command:?}: {code}: {err}");
        assert!(stdout.is_empty(), "{command:?}: {stdout}");
    }
    std::fs::write(&path, &good).unwrap();
    let empty = edit(&|ck| ck.insert_u64("trainer.steps", &[]));
    resume_with(&empty, "`trainer.steps` holds 0 values");
    std::fs::write(&path, &good).unwrap();
    let epochs = edit(&|ck| ck.insert_u64("trainer.epochs", &[1000]));
    resume_with(&epochs, "1000 epochs in");
    // The intact file still resumes.
    std::fs::write(&path, &good).unwrap();
    let (code, _, err) = run(&args("2"));
    assert_eq!(code, 0, "{err}");
}

#[test]
fn runs_are_not_overwritten_raced_or_cut_short() {
    let out = scratch("hostile-outputs");
    let data = fake_mnist();
    let o = out.to_str().unwrap();
    let base = ["train", "--data", "mnist", "--data-dir", data.to_str().unwrap(), "--batch-size", "50", "--out", o];
    let model = ["--model", "mlp(784, 8, 10)"];
    assert_eq!(gradus(&[&base[..], &model, &["--epochs", "1"]].concat()).0, 0);
    let before = std::fs::read(out.join("checkpoint.safetensors")).unwrap();
    let (code, _, err) = gradus(&[&base[..], &model, &["--epochs", "1", "--seed", "4"]].concat());
    assert_eq!(code, 2);
    assert!(err.contains("already holds a run (metrics.csv, checkpoint.safetensors, learning_curve.svg)"), "{err}");
    assert_eq!(std::fs::read(out.join("checkpoint.safetensors")).unwrap(), before);
    let (code, _, err) = gradus(&[&base[..], &model, &["--epochs", "1", "--resume", "--overwrite"]].concat());
    assert_eq!(code, 2, "{err}");
    // Resumed to 3 epochs, the learning curve shows all three (per epoch one
    // marker for the test loss and one for the test accuracy).
    let (code, _, err) = gradus(&[&base[..], &model, &["--epochs", "3", "--resume"]].concat());
    assert_eq!(code, 0, "{err}");
    let svg = std::fs::read_to_string(out.join("learning_curve.svg")).unwrap();
    assert_eq!(svg.matches("<circle").count(), 6, "markers of epochs 1-3");
    let (code, _, err) = gradus(&[&base[..], &model, &["--epochs", "2", "--resume"]].concat());
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("has 3 epochs already, more than --epochs 2"), "{err}");
    // A second process while the first holds the directory.
    let lock = std::fs::File::create(out.join(".gradus.lock")).unwrap();
    lock.lock().unwrap();
    let (code, _, err) = gradus(&[&base[..], &model, &["--epochs", "4", "--resume"]].concat());
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("another gradus process is writing this run"), "{err}");
    drop(lock);
    // --overwrite replaces the run.
    let (code, _, err) = gradus(&[&base[..], &model, &["--epochs", "1", "--overwrite", "--seed", "5"]].concat());
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read_to_string(out.join("metrics.csv")).unwrap().lines().count(), 2);
    assert!(std::fs::read_dir(&out).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().ends_with(".partial")));
    let (code, _, err) = gradus(&[
        "train",
        "--data",
        "mnist",
        "--data-dir",
        data.to_str().unwrap(),
        "--out",
        &format!("{o}/x"),
        "--resume",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("holds no checkpoint.safetensors"), "{err}");
}

#[test]
fn numbers_out_of_range_are_refused() {
    let metrics = scratch("hostile-numbers").join("m.txt");
    std::fs::write(&metrics, "1\nnan\n2\n").unwrap();
    let m = metrics.to_str().unwrap();
    check(vec![
        train("numbers", "n1", &["--optimizer", "adam(lr=1e400)"], 2, "`1e400` is not a finite number"),
        train("numbers", "n2", &["--optimizer", "adam(lr=inf)"], 2, "`lr` must be a number, got a word `inf`"),
        train("numbers", "n3", &["--optimizer", "sgd(weight_decay=inf)"], 2, "`weight_decay` must be a number"),
        train("numbers", "n4", &["--optimizer", "sgd(lr=-1)"], 2, "lr"),
        train("numbers", "n5", &["--optimizer", "sgd(lr=0.1, lr=0.2)"], 2, "`lr` given twice"),
        train("numbers", "n6", &["--optimizer", "adam(betas=(0.9, NaN))"], 2, "betas"),
        train("numbers", "n7", &["--model", "mlp(784, 10, act=relu, act=tanh)"], 2, "`act` given twice"),
        train("numbers", "n8", &["--model", "mlp(784, 10, dropout=1.5)"], 2, "dropout=<p in [0, 1)>"),
        train("numbers", "n9", &["--augment", "std=0, mean=0"], 2, "std must be positive"),
        train("numbers", "n10", &["--augment", "crop=1e400"], 2, "not a finite number"),
        train(
            "numbers",
            "n11",
            &["--schedule", "onecycle(max_lr=0.1, total_steps=3)", "--schedule-every", "batch"],
            2,
            "give it total_steps=4",
        ),
        train("numbers", "n12", &["--schedule", "cosine(t_max=-3)"], 2, "t_max"),
        train(
            "numbers",
            "n13",
            &["--schedule", "plateau(patience=2)", "--schedule-every", "batch"],
            2,
            "plateau observes the test loss once an epoch",
        ),
        train("numbers", "n14", &["--schedule-every", "step"], 2, "[possible values: batch, epoch]"),
        case("numbers", &["schedule", "constant", "--lr", "nan", "--steps", "3"], 2, "`nan` is not a finite number"),
        case("numbers", &["schedule", "constant", "--lr=-1", "--steps", "3"], 2, "is negative"),
        case("numbers", &["schedule", "constant", "--lr=1e400", "--steps", "3"], 2, "not a finite number"),
        case(
            "numbers",
            &["schedule", "constant", "--lr", "0.1", "--steps", "3", "--momentum=inf"],
            2,
            "not a finite number",
        ),
        case(
            "numbers",
            &["schedule", "onecycle(max_lr=0.1, total_steps=10)", "--lr", "0.1", "--steps", "12"],
            2,
            "defines steps 0 … 10",
        ),
        case(
            "numbers",
            &["schedule", "plateau", "--lr", "0.1", "--steps", "3", "--metrics", m],
            2,
            "m.txt:2: `nan` is not a finite number",
        ),
        case(
            "numbers",
            &["trace", "--function", "rosenbrock", "--start=nan,1", "--optimizer", "sgd"],
            2,
            "`nan` is not a finite number",
        ),
        case(
            "numbers",
            &["trace", "--function", "rosenbrock", "--start=1,1e999", "--optimizer", "sgd"],
            2,
            "not a finite number",
        ),
        case(
            "numbers",
            &["trace", "--function", "rosenbrock", "--start=1,1,1", "--optimizer", "sgd"],
            2,
            "the function takes 2",
        ),
        case("numbers", &["hessian", "--function", "rosenbrock", "--at=nan,1"], 2, "`nan` is not a finite number"),
        case("numbers", &["hessian", "--function", "rosenbrock", "--at=1e200,1"], 2, "are not all finite"),
        case(
            "numbers",
            &["trace", "--function", "square", "--start=1", "--optimizer", "newton(damping=nan)"],
            2,
            "damping",
        ),
    ]);
}

#[test]
fn messages_say_what_is_wrong_and_what_is_accepted() {
    let empty = scratch("hostile-messages");
    check(vec![
        train("messages", "s1", &["--optimizer", "newton"], 2, "mini-batch training takes sgd, momentum"),
        train("messages", "s2", &["--optimizer", "lbfgs(lr=1)"], 2, "`gradus trace` does on its test functions"),
        train("messages", "s3", &["--model", "mlp(784, 10, act=RELU)"], 2, "relu"),
        train("messages", "s4", &["--optimizer", "adam(learning_rate=0.1)"], 2, "accepted: lr, betas"),
        train("messages", "s5", &["--data", "cifar10"], 2, "accepted: fashion-mnist, mnist"),
        case(
            "messages",
            &["train", "--data", "mnist", "--data-dir", empty.to_str().unwrap(), "--out", "x"],
            2,
            "lacks train-images-idx3-ubyte(.gz), train-labels-idx1-ubyte(.gz)",
        ),
        case(
            "messages",
            &["trace", "--function", "rastrigin", "--start=1,1", "--optimizer", "sgd"],
            2,
            "accepted: square, rosenbrock",
        ),
        case("messages", &["schedule", "cosine_annealing", "--lr", "0.1", "--steps", "3"], 2, "cosine"),
        case(
            "messages",
            &["trace", "--function", "square", "--start=1", "--optimizer", "sgd", "--schedule", "plateau"],
            2,
            "plateau needs a metric",
        ),
    ]);
}

#[test]
fn data_edge_cases_exit_2() {
    let write = |name: &str, train: usize, test: usize| {
        let dir = scratch(name);
        let idx = |n: usize, images: bool| {
            if images {
                gradus::data::write_idx_u8(&[n, 28, 28], &vec![3; n * 784])
            } else {
                gradus::data::write_idx_u8(&[n], &vec![1; n])
            }
        };
        std::fs::write(dir.join("train-images-idx3-ubyte"), idx(train, true)).unwrap();
        std::fs::write(dir.join("train-labels-idx1-ubyte"), idx(train, false)).unwrap();
        std::fs::write(dir.join("t10k-images-idx3-ubyte"), idx(test, true)).unwrap();
        std::fs::write(dir.join("t10k-labels-idx1-ubyte"), idx(test, false)).unwrap();
        dir
    };
    let (no_train, no_test) = (write("hostile-d1", 0, 5), write("hostile-d2", 5, 0));
    let truncated = write("hostile-d3", 5, 5);
    let bytes = std::fs::read(truncated.join("t10k-images-idx3-ubyte")).unwrap();
    std::fs::write(truncated.join("t10k-images-idx3-ubyte"), &bytes[..bytes.len() - 7]).unwrap();
    let run = |dir: &Path, says: &'static str| {
        case(
            "data",
            &[
                "train",
                "--data",
                "mnist",
                "--data-dir",
                dir.to_str().unwrap(),
                "--out",
                dir.join("o").to_str().unwrap(),
            ],
            2,
            says,
        )
    };
    check(vec![
        run(&no_train, "the training set has no examples"),
        run(&no_test, "the test set has no examples"),
        run(
            &truncated,
            "t10k-images-idx3-ubyte: dimensions [5, 28, 28] need 3920 bytes of data, the file has 3913 (truncated)",
        ),
        train("data", "d4", &["--epochs", "0"], 2, "--epochs and --batch-size must be positive"),
        train("data", "d5", &["--batch-size", "0"], 2, "--epochs and --batch-size must be positive"),
    ]);
}

/// Everything above also holds from another working directory, and `--out`
/// pointing at a file is the environment's failure (exit 1), changing it not.
#[test]
fn an_output_path_that_is_a_file_is_exit_1() {
    let dir = scratch("hostile-env");
    std::fs::write(dir.join("taken"), "not a directory").unwrap();
    let data = fake_mnist();
    let (code, _, err) = gradus_in(
        Some(&dir),
        &["train", "--data", "mnist", "--data-dir", data.to_str().unwrap(), "--epochs", "1", "--out", "taken"],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("taken"), "{err}");
    assert_eq!(std::fs::read_to_string(dir.join("taken")).unwrap(), "not a directory");
}

/// Standard output on a full disk (`/dev/full`) is the environment's
/// failure: exit 1 naming it, never a panic; a full standard error is
/// ignored, as there is nowhere left to report to.
#[test]
fn a_full_output_is_exit_1_not_a_panic() {
    if !Path::new("/dev/full").exists() {
        eprintln!("skipped: no /dev/full on this system");
        return;
    }
    for args in [
        &["schedule", "constant", "--lr", "0.1", "--steps", "3"][..],
        &["trace", "--function", "square", "--start=1", "--optimizer", "sgd", "--format", "json"],
        &["hessian", "--function", "saddle", "--at=0,0"],
    ] {
        let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gradus")).args(args).stdout(full).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains("writing to standard output: No space left on device"), "{args:?}: {err}");
        let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gradus")).args(args).stderr(full).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?} with a full stderr");
    }
}

/// A build without MPI started by mpirun as several ranks would run N
/// separate trainings into one --out: it refuses, saying how to build it.
#[cfg(not(feature = "mpi"))]
#[test]
fn a_build_without_mpi_refuses_to_run_as_several_ranks() {
    let dir = common::scratch("no-mpi");
    let out = dir.join("run");
    for (rank, prints) in [("0", true), ("1", false)] {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_gradus"));
        cmd.args(["train", "--epochs", "1", "--out", out.to_str().unwrap()])
            .env("OMPI_COMM_WORLD_SIZE", "2")
            .env("OMPI_COMM_WORLD_RANK", rank);
        let (code, _, err) = common::run(cmd, "gradus train under a fake mpirun");
        assert_eq!(code, 2, "{err}");
        assert_eq!(err.contains("--features mpi"), prints, "rank {rank}: {err}");
        assert!(!out.exists());
    }
}
