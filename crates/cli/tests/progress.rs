//! Progress bars on long work: drawn (with rate and time left) when
//! standard error is a terminal — here a pseudo-terminal made by
//! util-linux's `script` — and absent when it is a pipe.

mod common;

use common::{fake_mnist, gradus, run, scratch};
use std::process::Command;

/// `gradus args…` with a pseudo-terminal for standard output and error:
/// (exit code, everything it wrote). `None` without `script`.
fn in_terminal(args: &[&str]) -> Option<(i32, String)> {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: no `script` (util-linux) to make a pseudo-terminal");
        return None;
    }
    let quote = |a: &str| format!("'{}'", a.replace('\'', r"'\''"));
    let line: Vec<String> =
        std::iter::once(env!("CARGO_BIN_EXE_gradus")).chain(args.iter().copied()).map(quote).collect();
    let mut cmd = Command::new("script");
    // -q: no banner; -e: its exit code is the command's; the log goes nowhere.
    cmd.args(["-qec", &line.join(" "), "/dev/null"]);
    let (code, out, _) = run(cmd, &format!("script gradus {args:?}"));
    Some((code, out))
}

#[test]
fn long_commands_show_a_bar_on_a_terminal_and_nothing_extra_off_one() {
    let data = fake_mnist();
    let d = data.to_str().unwrap();
    let out = scratch("progress");
    let (o, c) = (out.join("run"), out.join("compare"));
    let (o, c) = (o.to_str().unwrap(), c.to_str().unwrap());
    let model = "mlp(784, 8, 10)";
    let train = ["train", "--data-dir", d, "--model", model, "--epochs", "1", "--batch-size", "20", "--out", o];
    let ck = out.join("run").join("checkpoint.safetensors");
    let ck = ck.to_str().unwrap();
    let compare = [
        "compare",
        "--data-dir",
        d,
        "--model",
        model,
        "--optimizers",
        "sgd(lr=0.1); adam",
        "--epochs",
        "1",
        "--batch-size",
        "20",
        "--out",
        c,
    ];
    let curvature = ["curvature", "--checkpoint", ck, "--data-dir", d, "--subset", "100", "--top", "1", "--trace"];
    let landscape = ["landscape", "--checkpoint", ck, "--data-dir", d, "--subset", "100", "--points", "5"];
    let lr_find = [
        "lr-find",
        "--data-dir",
        d,
        "--model",
        model,
        "--optimizer",
        "sgd(lr=0.1)",
        "--batch-size",
        "20",
        "--num-iter",
        "20",
    ];
    let commands: [(&[&str], &str); 5] = [
        (&train, "batches"),
        (&compare, "batches"),
        (&curvature, "Hessian products"),
        (&landscape, "points"),
        (&lr_find, "steps"),
    ];
    for (args, unit) in commands {
        let (code, _, err) = gradus(args);
        assert_eq!(code, 0, "{args:?}: {err}");
        let bar = format!(" {unit}, "); // the bar's counts, then its rate
        assert!(!err.contains(&bar) && !err.contains(" left"), "{args:?}: a bar off a terminal:\n{err}");
        let mut again = args.to_vec();
        if matches!(args[0], "train" | "compare") {
            again.push("--overwrite");
        }
        let Some((code, all)) = in_terminal(&again) else { return };
        assert_eq!(code, 0, "{again:?}: {all}");
        assert!(all.contains(&bar) && all.contains(" left"), "{again:?}: no bar on a terminal:\n{all}");
    }
}
