//! Residual networks and the normalisation family from the command line:
//! a spec file with comments, training with sharpness, the checkpoint's
//! nested names, `curvature`, `landscape` and `lr-find` on the result,
//! `gradus summary`, and the misfits refused before anything is written.

mod common;

use common::{fake_mnist, gradus, scratch};

/// A tiny ResNet: a stem, one projection block, one identity block of
/// each norm, global pooling and a linear head.
const RESNET: &str = "\
# a tiny residual network
seq(conv2d(1, 4, 3, padding=1), batchnorm2d(4), relu,   # the stem
    res(conv2d(4, 8, 3, stride=2, padding=1, bias=false), batchnorm2d(8), relu,
        conv2d(8, 8, 3, padding=1, bias=false), batchnorm2d(8),
        shortcut=seq(conv2d(4, 8, 1, stride=2, bias=false), batchnorm2d(8))),
    relu,
    repeat(2, res(conv2d(8, 8, 3, padding=1), groupnorm(2, 8), relu)),
    res(instancenorm2d(8, affine=true), conv2d(8, 8, 1)),
    maxpool2d(2), layernorm((7, 7)),
    adaptive_avgpool2d(1), flatten, rmsnorm(8), linear(8, 10))
";

#[test]
fn a_resnet_from_a_spec_file_trains_and_every_lab_command_reads_it() {
    let dir = scratch("res-run");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("resnet.spec");
    std::fs::write(&file, RESNET).unwrap();
    let model = format!("@{}", file.display());
    let (data, out) = (fake_mnist(), dir.join("run"));
    let (d, o) = (data.to_str().unwrap(), out.to_str().unwrap());
    let (code, _, err) = gradus(&[
        "train",
        "--data-dir",
        d,
        "--model",
        &model,
        "--epochs",
        "1",
        "--batch-size",
        "50",
        "--sharpness-every",
        "2",
        "--out",
        o,
    ]);
    assert_eq!(code, 0, "{err}");
    let ck_path = out.join("checkpoint.safetensors");
    let ck = gradus::nn::Checkpoint::load(&ck_path).unwrap();
    for name in [
        "model.3.body.0.weight",
        "model.3.body.4.running_var",
        "model.3.shortcut.0.weight",
        "model.3.shortcut.1.num_batches_tracked",
        "model.5.0.body.1.weight",
        "model.5.1.body.0.bias",
        "model.6.body.0.weight",
        "model.8.weight",
        "model.11.weight",
        "model.12.bias",
    ] {
        assert!(ck.contains(name), "{name} missing");
    }
    // The checkpoint records the spec itself, not the file's name.
    let recorded = ck.metadata("config.model").unwrap();
    assert!(recorded.starts_with("seq(conv2d(1, 4, 3, padding=1)") && !recorded.contains('#'), "{recorded}");
    let sharp = std::fs::read_to_string(out.join("sharpness.csv")).unwrap();
    assert!(sharp.lines().count() > 1, "{sharp}");

    let c = ck_path.to_str().unwrap();
    let (code, json, err) =
        gradus(&["curvature", "--checkpoint", c, "--data-dir", d, "--subset", "60", "--top", "2", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    assert!(json.contains("\"eigenvalues\""), "{json}");
    let (code, csv, err) =
        gradus(&["landscape", "--checkpoint", c, "--data-dir", d, "--subset", "60", "--points", "3"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(csv.lines().count(), 4, "{csv}");
    let (code, csv, err) = gradus(&[
        "lr-find",
        "--data-dir",
        d,
        "--model",
        &model,
        "--optimizer",
        "adam",
        "--batch-size",
        "20",
        "--num-iter",
        "5",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(csv.lines().count() >= 2, "{csv}");
}

#[test]
fn summary_lists_every_item_and_the_totals() {
    let model =
        "seq(conv2d(1, 8, 3, padding=1), res(conv2d(8, 8, 3, padding=1), batchnorm2d(8)), flatten, linear(6272, 10))";
    let (code, text, err) = gradus(&["summary", "--model", model]);
    assert_eq!(code, 0, "{err}");
    for line in ["1.body.0", "1.body.1", "total params: 63410", "mult-adds per example: 583322"] {
        assert!(text.contains(line), "{line} missing from\n{text}");
    }
    let (code, json, err) = gradus(&["summary", "--model", model, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    assert!(json.contains("{\"name\": \"1.body.0\", \"type\": \"Conv2d\", \"depth\": 3, \"output\": [8, 28, 28], \"params\": 584, \"multiply_adds\": 457856}"), "{json}");
    let (code, _, err) = gradus(&["summary", "--model", model, "--input", "3,28,28"]);
    assert!(code == 2 && err.contains("Conv2d needs [N, 1, H, W], got [N, 3, 28, 28]"), "{code}: {err}");
}

#[test]
fn misfits_exit_2_naming_the_item_and_both_shapes_before_writing() {
    let data = fake_mnist();
    let d = data.to_str().unwrap();
    let cases = [
        (
            "seq(conv2d(1, 4, 3, padding=1), res(conv2d(4, 8, 3, padding=1)), flatten, linear(6272, 10))",
            "res(conv2d(4, 8, 3, padding=1)): Residual's body gives [N, 8, 28, 28] and its shortcut [N, 4, 28, 28]",
        ),
        ("seq(conv2d(1, 6, 3), groupnorm(4, 6), flatten, linear(4056, 10))", "num_groups=4 must divide num_channels=6"),
        ("seq(layernorm(27), flatten, linear(784, 10))", "LayerNorm([27]) needs [N, …, 27], got [N, 1, 28, 28]"),
        ("seq(repeat(0, relu), flatten, linear(784, 10))", "`n` must be a positive integer"),
    ];
    for (model, says) in cases {
        let out = scratch("res-misfit");
        let (code, _, err) =
            gradus(&["train", "--data-dir", d, "--model", model, "--epochs", "1", "--out", out.to_str().unwrap()]);
        assert!(code == 2 && err.contains(says), "{model}: {code}: {err}");
        assert!(!out.join("checkpoint.safetensors").exists() && !out.join("metrics.csv").exists());
    }
}

#[test]
fn every_example_spec_parses_fits_and_stays_under_one_and_a_half_million_parameters() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut specs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "spec"))
        .collect();
    specs.sort();
    assert!(specs.len() >= 2, "{specs:?}");
    for spec in specs {
        let (code, json, err) = gradus(&["summary", "--model", &format!("@{}", spec.display()), "--format", "json"]);
        assert_eq!(code, 0, "{}: {err}", spec.display());
        let total: usize = json.split("\"total_params\": ").nth(1).unwrap().split(',').next().unwrap().parse().unwrap();
        assert!(total < 1_500_000, "{}: {total}", spec.display());
        let resnet = spec.file_name().unwrap().to_str().unwrap().starts_with("resnet");
        let nested = json.contains("\"name\": \"3.1.0.body.3\"") && json.contains("\"name\": \"4.shortcut.1\"");
        assert!(nested || !resnet, "{json}");
    }
}
