//! `gradus curvature`, `gradus landscape` and `gradus lr-find` end to end
//! on a small IDX data set: their outputs, their agreement with
//! independent computations, and their errors.

mod common;

use common::{fake_mnist, gradus, scratch};
use std::path::PathBuf;
use std::process::Command;

/// The numbers of the JSON array under `key` in `json` (the CLI's own
/// flat output: no nesting inside the array).
fn array(json: &str, key: &str) -> Vec<f64> {
    let at = json.find(&format!("\"{key}\": [")).unwrap_or_else(|| panic!("no {key} in {json}"));
    let rest = &json[at + key.len() + 5..];
    let body = &rest[..rest.find(']').unwrap()];
    body.split(',').filter(|s| !s.trim().is_empty()).map(|s| s.trim().parse().unwrap()).collect()
}

/// The number under `key` (null as NaN).
fn number(json: &str, key: &str) -> f64 {
    let at = json.find(&format!("\"{key}\": ")).unwrap_or_else(|| panic!("no {key} in {json}"));
    let rest = &json[at + key.len() + 4..];
    let end = rest.find([',', '}']).unwrap();
    rest[..end].trim().parse().unwrap_or(f64::NAN)
}

const MLP: &str = "mlp(784, 8, 10, act=tanh)";

/// A checkpoint of `model` after one epoch of `optimizer` on the fake data
/// set (batches of 20), trained into `name`.
fn train_once(name: &str, model: &str, optimizer: &str) -> PathBuf {
    let (out, data) = (scratch(name), fake_mnist());
    let (code, _, err) = gradus(&[
        "train",
        "--data-dir",
        data.to_str().unwrap(),
        "--model",
        model,
        "--optimizer",
        optimizer,
        "--epochs",
        "1",
        "--batch-size",
        "20",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    out.join("checkpoint.safetensors")
}

/// A checkpoint of `MLP` after one epoch on the fake data set.
fn trained() -> PathBuf {
    static RUN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    RUN.get_or_init(|| train_once("lab-run", MLP, "sgd(lr=0.1)")).clone()
}

fn curvature(extra: &[&str]) -> (i32, String, String) {
    let (ck, data) = (trained(), fake_mnist());
    let mut args = vec!["curvature", "--checkpoint", ck.to_str().unwrap(), "--data-dir", data.to_str().unwrap()];
    args.extend(extra);
    gradus(&args)
}

#[test]
fn curvature_reports_the_top_of_the_spectrum_the_trace_and_the_density() {
    let plot = scratch("lab-spectrum").join("spectrum.svg");
    let (code, out, err) = curvature(&[
        "--subset",
        "120",
        "--top",
        "3",
        "--dtype",
        "f64",
        "--trace",
        "--probes",
        "30",
        "--density",
        "--format",
        "json",
        "--plot",
        plot.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(number(&out, "parameters"), (784 * 8 + 8 + 8 * 10 + 10) as f64);
    assert_eq!(number(&out, "examples"), 120.0);
    let top = array(&out, "eigenvalues");
    assert_eq!(top.len(), 3);
    assert!(top[0] >= top[1] && top[1] >= top[2] && top[0] > 0.0, "{top:?}");
    assert!((number(&out, "max_stable_lr") - 2.0 / top[0]).abs() < 1e-12);
    // The trace is a sum of eigenvalues: at least the largest less the
    // negative ones (small here), and the standard error is positive.
    assert!(number(&out, "trace_stderr") > 0.0 && number(&out, "trace").is_finite());
    let (grid, density) = (array(&out, "grid"), array(&out, "weights"));
    assert_eq!(grid.len(), density.len());
    let integral: f64 = density.iter().sum::<f64>() * (grid[1] - grid[0]);
    assert!((integral - 1.0).abs() < 1e-6, "{integral}");
    assert!(number(&out, "hvp_calls") >= 30.0 + 100.0);
    assert!(std::fs::read_to_string(&plot).unwrap().starts_with("<svg"));

    // The same in f32, to f32's accuracy.
    let (code, out32, err) = curvature(&["--subset", "120", "--top", "3", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    for (a, b) in array(&out32, "eigenvalues").iter().zip(&top) {
        assert!((a - b).abs() < 1e-3 * b.abs(), "f32 {a} vs f64 {b}");
    }
}

/// The same loss written in PyTorch from the checkpoint and the IDX files,
/// its top three eigenvalues from SciPy's ARPACK (implicitly restarted
/// Lanczos, [`TOP_THREE`]) on double-backward products in f64.
const TORCH: &str = r#"
import gzip, json, struct, sys
import numpy as np, torch
ckpt, data, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
raw = open(ckpt, "rb").read()
h = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + h])
def tensor(name):
    info = header[name]
    a, b = info["data_offsets"]
    return torch.frombuffer(bytearray(raw[8 + h + a:8 + h + b]), dtype=torch.float32).reshape(info["shape"]).double()
w1, b1, w2, b2 = (tensor(f"model.{k}") for k in ["0.weight", "0.bias", "2.weight", "2.bias"])
images = open(f"{data}/train-images-idx3-ubyte", "rb").read()
labels = open(f"{data}/train-labels-idx1-ubyte", "rb").read()
x = torch.tensor(list(images[16:16 + n * 784]), dtype=torch.float64).reshape(n, 784) / 255
y = torch.tensor(list(labels[8:8 + n]), dtype=torch.long)
params = [p.requires_grad_() for p in (w1, b1, w2, b2)]
loss = torch.nn.functional.cross_entropy(torch.tanh(x @ w1.T + b1) @ w2.T + b2, y)
grads = torch.autograd.grad(loss, params, create_graph=True)
def hvp(v):
    v = torch.from_numpy(np.asarray(v, dtype=np.float64).ravel())
    pieces, at = [], 0
    for p in params:
        pieces.append(v[at:at + p.numel()].reshape(p.shape)); at += p.numel()
    hv = torch.autograd.grad(grads, params, grad_outputs=pieces, retain_graph=True)
    return torch.cat([t.reshape(-1) for t in hv]).numpy()
dim = sum(p.numel() for p in params)
matvec = hvp
"#;

/// The end of both PyTorch scripts: the top three eigenvalues of `matvec`
/// on vectors of `dim` values, by ARPACK, descending.
const TOP_THREE: &str = r#"
from scipy.sparse.linalg import LinearOperator, eigsh
values = eigsh(LinearOperator((dim, dim), matvec=matvec, dtype=np.float64), k=3, which="LA", tol=1e-13,
               return_eigenvectors=False)
print(" ".join(repr(float(v)) for v in sorted(values, reverse=True)))
"#;

/// The top three eigenvalues `script` (with [`TOP_THREE`] after it)
/// prints for checkpoint `ck` and the first `n` examples of the fake data.
fn torch_top_three(python: &str, name: &str, script: &str, ck: &std::path::Path, n: &str) -> Vec<f64> {
    let path = scratch(name).join("script.py");
    std::fs::write(&path, format!("{script}{TOP_THREE}")).unwrap();
    let data = fake_mnist();
    let o = Command::new(python)
        .args([path.to_str().unwrap(), ck.to_str().unwrap(), data.to_str().unwrap(), n])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).split_whitespace().map(|s| s.parse().unwrap()).collect()
}

#[test]
fn curvature_in_f64_equals_an_independent_lanczos_in_pytorch() {
    let Some(python) = common::python_with("torch, scipy") else {
        eprintln!("skipped: no Python with torch and scipy (set GRADUS_TORCH_PYTHON)");
        return;
    };
    let (code, out, err) = curvature(&["--subset", "150", "--top", "3", "--dtype", "f64", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let ours = array(&out, "eigenvalues");
    let theirs = torch_top_three(&python, "lab-torch", TORCH, &trained(), "150");
    for (a, b) in ours.iter().zip(&theirs) {
        assert!((a - b).abs() <= 1e-6 * b.abs(), "gradus {ours:?} vs ARPACK {theirs:?}");
    }
}

#[test]
fn curvature_refuses_what_it_cannot_analyse() {
    let data = fake_mnist();
    let d = data.to_str().unwrap();
    let missing = scratch("lab-missing").join("none.safetensors");
    let (code, _, err) = gradus(&["curvature", "--checkpoint", missing.to_str().unwrap(), "--data-dir", d]);
    assert!(code == 2 && err.contains("no such file"), "{code}: {err}");
    let ck = trained();
    let ck = ck.to_str().unwrap();
    let (code, _, err) = gradus(&["curvature", "--checkpoint", ck, "--data-dir", d, "--model", "mlp(784, 9, 10)"]);
    assert!(code == 2 && err.contains("differs from the model") && err.contains(MLP), "{code}: {err}");
    // Spaces do not make a spec another one.
    let (code, _, err) =
        gradus(&["curvature", "--checkpoint", ck, "--data-dir", d, "--model", "mlp(784,8,10,act=tanh)", "--top", "1"]);
    assert_eq!(code, 0, "{err}");
    for (flag, value, says) in [
        ("--top", "0", "--top must be positive"),
        ("--subset", "0", "--subset must be positive"),
        ("--dtype", "f16", "f16"),
        // Counts that size memory are refused before anything is allocated.
        ("--probes", "100000000000", "--probes 100000000000 need about 800.000 GB"),
        ("--density-probes", "100000000000", "--density-probes 100000000000 of --density-steps 100 need about"),
        // More eigenvalues than the Hessian has, or than the steps can find.
        ("--top", "7000", "--top 7000: the model has 6370 parameters"),
        ("--top", "300", "--top 300 needs --max-steps of at least 300"),
    ] {
        let (code, _, err) =
            gradus(&["curvature", "--checkpoint", ck, "--data-dir", d, "--trace", "--density", flag, value]);
        assert!(code == 2 && err.contains(says), "{flag} {value}: {code}: {err}");
    }
    // Values that did not converge are never printed as eigenvalues.
    let (code, out, err) = gradus(&[
        "curvature",
        "--checkpoint",
        ck,
        "--data-dir",
        d,
        "--top",
        "40",
        "--max-steps",
        "45",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let found = array(&out, "eigenvalues").len();
    assert!(found < 40 && err.contains(&format!("{found} of the top 40 eigenvalues converged")), "{found}: {err}");
    assert!(out.contains("\"converged\": false"), "{out}");
    assert_eq!(array(&out, "residuals").len(), found);
    // A model saved alone records no spec: --model is needed, and used.
    let alone = scratch("lab-alone").join("model.safetensors");
    let model = gradus::models::ModelSpec::parse(MLP).unwrap().build::<f32>(3);
    gradus::nn::save(&model, &alone).unwrap();
    let a = alone.to_str().unwrap();
    let (code, _, err) = gradus(&["curvature", "--checkpoint", a, "--data-dir", d]);
    assert!(code == 2 && err.contains("records no model") && err.contains("--model"), "{code}: {err}");
    let (code, out, err) = gradus(&["curvature", "--checkpoint", a, "--data-dir", d, "--model", MLP, "--top", "1"]);
    assert!(code == 0 && out.contains("eigenvalues: "), "{err}");
    // A checkpoint that is not one.
    let junk = scratch("lab-junk").join("junk.safetensors");
    std::fs::write(&junk, b"not a checkpoint").unwrap();
    let (code, _, err) = gradus(&["curvature", "--checkpoint", junk.to_str().unwrap(), "--data-dir", d]);
    assert_eq!(code, 2, "{err}");
}

/// Reads sharpness.csv: (step, epoch, lr, sharpness) rows under its header.
fn sharpness_rows(dir: &std::path::Path) -> Vec<(usize, usize, f64, f64)> {
    let text = std::fs::read_to_string(dir.join("sharpness.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("step,epoch,lr,sharpness"));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].parse().unwrap(), f[1].parse().unwrap(), f[2].parse().unwrap(), f[3].parse().unwrap())
        })
        .collect()
}

#[test]
fn train_measures_sharpness_and_resumes_it() {
    let data = fake_mnist();
    let d = data.to_str().unwrap();
    let train = |out: &std::path::Path, epochs: &str, extra: &[&str]| {
        let mut args = vec![
            "train",
            "--data-dir",
            d,
            "--model",
            MLP,
            "--optimizer",
            "sgd(lr=0.1)",
            "--batch-size",
            "40",
            "--epochs",
            epochs,
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(extra);
        gradus(&args)
    };
    // 200 examples in batches of 40: 5 steps an epoch, measured every 2.
    let whole = scratch("lab-sharp-whole");
    let (code, _, err) = train(&whole, "2", &["--sharpness-every", "2"]);
    assert_eq!(code, 0, "{err}");
    let rows = sharpness_rows(&whole);
    assert_eq!(rows.iter().map(|r| (r.0, r.1)).collect::<Vec<_>>(), vec![(2, 1), (4, 1), (6, 2), (8, 2), (10, 2)]);
    assert!(rows.iter().all(|r| r.2 == 0.1 && r.3 > 0.0), "{rows:?}");
    let metrics = std::fs::read_to_string(whole.join("metrics.csv")).unwrap();
    let header: Vec<&str> = metrics.lines().next().unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == "sharpness").expect("a sharpness column");
    let last: Vec<&str> = metrics.lines().nth(2).unwrap().split(',').collect();
    assert_eq!(last[col].parse::<f64>().unwrap(), rows[4].3);
    assert!(std::fs::read_to_string(whole.join("sharpness.svg")).unwrap().starts_with("<svg"));

    // Stopped after one epoch and resumed: the same rows, bit for bit (the
    // checkpoint keeps Lanczos's warm start).
    let parts = scratch("lab-sharp-parts");
    assert_eq!(train(&parts, "1", &["--sharpness-every", "2"]).0, 0);
    let (code, _, err) = train(&parts, "2", &["--sharpness-every", "2", "--resume"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(sharpness_rows(&parts), rows);
    assert_eq!(
        std::fs::read_to_string(parts.join("sharpness.csv")).unwrap(),
        std::fs::read_to_string(whole.join("sharpness.csv")).unwrap()
    );
    // Measured every 7 steps, a first part of 5 steps measures nothing: the
    // file holds its header, and the resume goes on from it.
    let late = scratch("lab-sharp-late");
    assert_eq!(train(&late, "1", &["--sharpness-every", "7"]).0, 0);
    assert_eq!(std::fs::read_to_string(late.join("sharpness.csv")).unwrap(), "step,epoch,lr,sharpness\n");
    let (code, _, err) = train(&late, "2", &["--sharpness-every", "7", "--resume"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(sharpness_rows(&late).iter().map(|r| r.0).collect::<Vec<_>>(), vec![7]);
    // A sharpness.csv that is not one is refused, and left as it was.
    std::fs::write(late.join("sharpness.csv"), "garbage\n").unwrap();
    let (code, _, err) = train(&late, "3", &["--sharpness-every", "7", "--resume"]);
    assert!(code == 2 && err.contains("does not start with the header"), "{code}: {err}");
    assert_eq!(std::fs::read_to_string(late.join("sharpness.csv")).unwrap(), "garbage\n");
    // Resuming without the flag, or with another N, is refused.
    let (code, _, err) = train(&parts, "3", &["--resume"]);
    assert!(code == 2 && err.contains("--sharpness-every 2"), "{code}: {err}");
    let (code, _, err) = train(&parts, "3", &["--resume", "--sharpness-every", "3"]);
    assert!(
        code == 2 && err.contains("made with --sharpness-every 2, this one gives --sharpness-every 3"),
        "{code}: {err}"
    );
    let (code, _, err) = train(&scratch("lab-sharp-zero"), "1", &["--sharpness-every", "0"]);
    assert!(code == 2 && err.contains("must be positive"), "{code}: {err}");
}

#[test]
fn lr_find_prints_the_sweep_and_its_suggestions() {
    let data = fake_mnist();
    let d = data.to_str().unwrap();
    let plot = scratch("lab-lr").join("lr.svg");
    let args =
        ["lr-find", "--data-dir", d, "--model", MLP, "--optimizer", "sgd(lr=0.1, momentum=0.9)", "--batch-size", "20"];
    let mut csv = args.to_vec();
    csv.extend(["--num-iter", "40", "--plot", plot.to_str().unwrap()]);
    let (code, out, err) = gradus(&csv);
    assert_eq!(code, 0, "{err}");
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("step,lr,loss,smoothed_loss"));
    let rows: Vec<Vec<f64>> = lines.map(|l| l.split(',').map(|v| v.parse().unwrap()).collect()).collect();
    assert!(!rows.is_empty() && rows.len() <= 40);
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r[0], i as f64);
        assert!((r[1] - 1e-7 * 1e8f64.powf(i as f64 / 40.0)).abs() < 1e-12 * r[1]);
    }
    assert!(err.contains("suggestions: valley ") && err.contains("steep "), "{err}");
    assert!(std::fs::read_to_string(&plot).unwrap().starts_with("<svg"));
    // The same sweep as JSON, with the suggestions as numbers.
    let mut json = args.to_vec();
    json.extend(["--num-iter", "40", "--format", "json"]);
    let (code, out, err) = gradus(&json);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("{\"rows\": [") && out.contains("\"smoothed_loss\": "));
    let valley = number(&out, "valley");
    assert!(valley > 1e-7 && valley < 10.0, "{out}");
    // Bad input.
    for (extra, says) in [
        (vec!["--start-lr", "1", "--end-lr", "0.1"], "0 < start < end"),
        (vec!["--num-iter", "0"], "must be positive"),
        (vec!["--start-lr", "nan"], "not a finite number"),
        (vec!["--num-iter", "100000000000"], "--num-iter 100000000000 need about 3200.000 GB"),
    ] {
        let mut a = args.to_vec();
        a.extend(extra);
        let (code, _, err) = gradus(&a);
        assert!(code == 2 && err.contains(says), "{code}: {err}");
    }
    // Rates up to the largest double stay finite; a loss that stops being
    // finite is named as such, not as the 4x rule.
    let mut huge = args.to_vec();
    huge.extend(["--end-lr", "1e308", "--num-iter", "10"]);
    let (code, out, err) = gradus(&huge);
    assert_eq!(code, 0, "{err}");
    let lrs: Vec<f64> = out.lines().skip(1).map(|l| l.split(',').nth(1).unwrap().parse().unwrap()).collect();
    assert!(lrs.len() >= 2 && lrs.iter().all(|lr| lr.is_finite() && *lr >= 1e-7), "{out}");
    let mut blows = args.to_vec();
    blows.extend(["--start-lr", "1e307", "--end-lr", "1e308", "--num-iter", "10"]);
    let (code, _, err) = gradus(&blows);
    assert!(code == 0 && err.contains("stopped at step 1: the loss was not finite at lr"), "{code}: {err}");
    let (code, _, err) = gradus(&["lr-find", "--data-dir", d, "--model", MLP, "--optimizer", "newton"]);
    assert!(code == 2 && err.contains("newton"), "{code}: {err}");
    let (code, _, err) =
        gradus(&["lr-find", "--data-dir", d, "--model", "mlp(784, 8, 3)", "--optimizer", "sgd(lr=0.1)"]);
    assert!(code == 2 && err.contains("10"), "{code}: {err}");
}

#[test]
fn landscape_draws_lines_and_planes_through_the_checkpoint() {
    let data = fake_mnist();
    let d = data.to_str().unwrap();
    let ck = trained();
    let c = ck.to_str().unwrap();
    let base = ["landscape", "--checkpoint", c, "--data-dir", d, "--subset", "100"];
    let run = |extra: &[&str]| {
        let mut a = base.to_vec();
        a.extend(extra);
        gradus(&a)
    };
    let rows = |out: &str| -> Vec<Vec<f64>> {
        out.lines().skip(1).map(|l| l.split(',').map(|v| v.parse().unwrap()).collect()).collect()
    };
    // The checkpoint's own loss, as curvature reports it.
    let (_, json, _) = curvature(&["--subset", "100", "--top", "1", "--format", "json"]);
    let own = number(&json, "loss");

    // A random line: α = 0 is the checkpoint.
    let plot = scratch("lab-land").join("line.svg");
    let (code, out, err) = run(&["--points", "5", "--plot", plot.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("alpha,loss,accuracy\n"));
    let line = rows(&out);
    assert_eq!(line.iter().map(|r| r[0]).collect::<Vec<_>>(), vec![-1.0, -0.5, 0.0, 0.5, 1.0]);
    assert!((line[2][1] - own).abs() < 1e-5 * own, "{} vs {own}", line[2][1]);
    assert!(std::fs::read_to_string(&plot).unwrap().starts_with("<svg"));

    // From the initial weights (rebuilt from the recorded seed) to the checkpoint.
    let (code, out, err) = run(&["--from-init", "--range=0:1", "--points", "3"]);
    assert_eq!(code, 0, "{err}");
    let init = rows(&out);
    assert!((init[2][1] - own).abs() < 1e-5 * own && init[0][1] > init[2][1], "{init:?}");
    // To a checkpoint, itself: every point is the checkpoint.
    let (code, out, err) = run(&["--to", c, "--points", "3"]);
    assert_eq!(code, 0, "{err}");
    assert!(rows(&out).iter().all(|r| (r[1] - own).abs() < 1e-5 * own), "{out}");

    // The widest range there is: every α finite, the middle one 0.
    let (code, out, err) = run(&["--range=-1e308:1e308", "--points", "3"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(rows(&out).iter().map(|r| r[0]).collect::<Vec<_>>(), vec![-1e308, 0.0, 1e308]);

    // A plane of more than 101 × 101 points needs --yes, and says its size.
    let (code, out, err) = run(&["--mode", "plane", "--points", "1001"]);
    assert!(code == 2 && err.contains("1002001 points") && err.contains("--yes") && out.is_empty(), "{code}: {err}");
    let (code, out, err) = gradus(&[
        "landscape",
        "--checkpoint",
        c,
        "--data-dir",
        d,
        "--subset",
        "4",
        "--mode",
        "plane",
        "--points",
        "102",
        "--yes",
    ]);
    assert!(code == 0 && err.contains("10404 evaluations"), "{code}: {err}");
    assert_eq!(out.lines().count(), 1 + 102 * 102);

    // A plane: points² rows, β slowest, the centre the checkpoint.
    let (code, out, err) = run(&["--mode", "plane", "--points", "3", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.matches("\"beta\"").count(), 9);
    let (code, out, _) = run(&["--mode", "plane", "--points", "3"]);
    assert_eq!(code, 0);
    let plane = rows(&out);
    assert_eq!((plane[1][0], plane[1][1], plane[3][0], plane[3][1]), (0.0, -1.0, -1.0, 0.0));
    assert!((plane[4][2] - own).abs() < 1e-5 * own);

    for (extra, says) in [
        (vec!["--range", "1:0"], "lo < hi"),
        (vec!["--range", "x"], "lo:hi"),
        (vec!["--points", "1"], "give 2 to"),
        (vec!["--mode", "plane", "--from-init"], "--mode line"),
        (vec!["--to", c, "--from-init"], "give one"),
        (vec!["--to", "/nonexistent/b.safetensors"], "--to /nonexistent/b.safetensors: no such file"),
    ] {
        let (code, _, err) = run(&extra);
        assert!(code == 2 && err.contains(says), "{extra:?}: {code}: {err}");
    }
    // --to a run of another model: said in --to's words, not --model's.
    let other = scratch("lab-land-other");
    let o = other.to_str().unwrap();
    let trained_other =
        ["train", "--data-dir", d, "--model", "mlp(784, 9, 10)", "--epochs", "1", "--batch-size", "50", "--out", o];
    assert_eq!(gradus(&trained_other).0, 0);
    let b = other.join("checkpoint.safetensors");
    let (code, _, err) = run(&["--to", b.to_str().unwrap()]);
    assert!(code == 2 && err.contains("a line runs between two checkpoints of one model"), "{code}: {err}");
    assert!(!err.contains("--model"), "{err}");
}

#[test]
fn curvature_of_the_gauss_newton_matrix_is_positive_semi_definite() {
    let (code, out, err) =
        curvature(&["--subset", "100", "--top", "3", "--dtype", "f64", "--operator", "ggn", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"operator\": \"ggn\""), "{out}");
    let top = array(&out, "eigenvalues");
    assert!(top.len() == 3 && top.iter().all(|&l| l > 0.0), "Jᵀ·H_L·J with a convex loss: {top:?}");
    for operator in ["fisher", "empirical-fisher"] {
        let (code, out, err) =
            curvature(&["--subset", "100", "--top", "2", "--dtype", "f64", "--operator", operator, "--format", "json"]);
        assert_eq!(code, 0, "{operator}: {err}");
        assert!(array(&out, "eigenvalues").iter().all(|&l| l > 0.0), "{operator}: a sum of outer products: {out}");
    }
    let (code, _, err) = curvature(&["--operator", "fisherr"]);
    assert!(code == 2 && err.contains("hessian") && err.contains("empirical-fisher"), "{err}");
}

#[test]
fn the_landscape_along_the_top_eigenvector_curves_as_its_eigenvalue() {
    let (ck, data) = (trained(), fake_mnist());
    let (c, d) = (ck.to_str().unwrap(), data.to_str().unwrap());
    let (code, out, err) = curvature(&["--subset", "100", "--top", "1", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let top = array(&out, "eigenvalues")[0];
    let base = ["landscape", "--checkpoint", c, "--data-dir", d, "--subset", "100", "--directions", "eigen"];
    let h = 0.02;
    let range = format!("--range=-{h}:{h}");
    let (code, csv, err) = gradus(&[&base[..], &["--points", "3", &range]].concat());
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("top eigenvectors, eigenvalues"), "{err}");
    let loss: Vec<f64> = csv.lines().skip(1).map(|l| l.split(',').nth(1).unwrap().parse().unwrap()).collect();
    // The second difference along the unit eigenvector is its eigenvalue.
    let curvature = (loss[0] + loss[2] - 2.0 * loss[1]) / (h * h);
    assert!((curvature - top).abs() <= 0.05 * top, "second difference {curvature}, top eigenvalue {top}");
    let plot = scratch("lab-eigen-plane").join("plane.svg");
    let (code, _, err) =
        gradus(&[&base[..], &["--mode", "plane", "--points", "5", "--plot", plot.to_str().unwrap()]].concat());
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::read_to_string(&plot).unwrap().contains("top two eigenvectors"));
    let (code, _, err) = gradus(&[&base[..], &["--from-init"]].concat());
    assert!(code == 2 && err.contains("--directions eigen"), "{err}");
}

/// The Gauss–Newton matrix of a trained CNN (convolution, batch norm in
/// evaluation mode, ReLU, max pooling) written with `torch.func`: J·v by
/// `jvp`, softmax cross-entropy's Hessian in the logits by its formula
/// (diag(p) − ppᵀ)/N, Jᵀ by `vjp`; its top three eigenvalues by ARPACK
/// ([`TOP_THREE`]).
const TORCH_GGN: &str = r#"
import json, struct, sys
import numpy as np, torch
from torch.func import functional_call, jvp, vjp
ckpt, data, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
raw = open(ckpt, "rb").read()
h = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + h])
state = {}
for name, info in header.items():
    if name == "__metadata__" or not name.startswith("model.") or info["dtype"] != "F32":
        continue
    a, b = info["data_offsets"]
    t = torch.frombuffer(bytearray(raw[8 + h + a:8 + h + b]), dtype=torch.float32).reshape(info["shape"])
    state[name[len("model."):]] = t.double()
net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                          torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(784, 10)).double()
net.load_state_dict(state, strict=True)
net.eval()
images = open(f"{data}/train-images-idx3-ubyte", "rb").read()
x = torch.tensor(list(images[16:16 + n * 784]), dtype=torch.float64).reshape(n, 1, 28, 28) / 255
names = [k for k, _ in net.named_parameters()]
params = tuple(p.detach() for _, p in net.named_parameters())
def f(*ps):
    return functional_call(net, dict(zip(names, ps)), (x,))
z = f(*params)
p = torch.softmax(z, dim=1)
_, pull = vjp(f, *params)
def ggn(v):
    v = torch.from_numpy(np.asarray(v, dtype=np.float64).ravel())
    pieces, at = [], 0
    for q in params:
        pieces.append(v[at:at + q.numel()].reshape(q.shape)); at += q.numel()
    _, jv = jvp(f, params, tuple(pieces))
    hjv = (p * jv - p * (p * jv).sum(dim=1, keepdim=True)) / n
    return torch.cat([t.reshape(-1) for t in pull(hjv)]).numpy()
dim = sum(q.numel() for q in params)
matvec = ggn
"#;

#[test]
fn the_gauss_newton_spectrum_of_a_trained_cnn_equals_torch_funcs() {
    let Some(python) = common::python_with("torch, scipy") else {
        eprintln!("skipped: no Python with torch and scipy (set GRADUS_TORCH_PYTHON)");
        return;
    };
    let data = fake_mnist();
    let model = "seq(conv2d(1, 4, 3, padding=1), batchnorm2d(4), relu, maxpool2d(2), flatten, linear(784, 10))";
    let ck = train_once("lab-ggn-cnn", model, "adam(lr=0.01)");
    let (code, json, err) = gradus(&[
        "curvature",
        "--checkpoint",
        ck.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--subset",
        "60",
        "--operator",
        "ggn",
        "--top",
        "3",
        "--dtype",
        "f64",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let ours = array(&json, "eigenvalues");
    let theirs = torch_top_three(&python, "lab-torch-ggn", TORCH_GGN, &ck, "60");
    assert_eq!(ours.len(), 3, "{json}");
    for (a, b) in ours.iter().zip(&theirs) {
        assert!((a - b).abs() <= 1e-6 * b.abs(), "gradus {ours:?} vs torch.func and ARPACK {theirs:?}");
    }
}
