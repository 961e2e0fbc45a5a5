//! Text from the command line: a byte-level transformer trained with
//! `--data text`, resumed bit for bit, its samples the same with and
//! without the key/value cache; and the bad input it invites, refused with
//! exit 2 before anything is written.

mod common;

use common::cases::{Case, case, check};
use common::{gradus, scratch};
use std::path::{Path, PathBuf};

/// About `bytes` bytes of sentences from a small vocabulary, the same on
/// every call (a linear congruential generator picks the words).
fn text_file(name: &str, bytes: usize) -> PathBuf {
    let words = ["the", "license", "you", "may", "copy", "and", "modify", "software", "under", "terms", "of", "this"];
    let (mut state, mut text) = (12345u64, String::new());
    while text.len() < bytes {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        text.push_str(words[(state >> 33) as usize % words.len()]);
        text.push_str(if (state >> 20) % 7 == 0 { ".\n" } else { " " });
    }
    let path = scratch(name).with_extension("txt");
    std::fs::write(&path, text).unwrap();
    path
}

const MODEL: &str = "seq(embedding(256, 16), pos_embedding(32, 16), repeat(2, transformer(16, 2, 32, dropout=0.1, norm_first=true, causal=true)), layernorm(16), linear(16, 256))";

fn train_text(out: &Path, text: &Path, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["train", "--data", "text", "--text", text.to_str().unwrap(), "--context", "32"];
    args.extend(["--model", MODEL, "--batch-size", "16", "--optimizer", "adamw(lr=3e-3)"]);
    args.extend(["--out", out.to_str().unwrap()]);
    args.extend(extra);
    gradus(&args)
}

#[test]
fn a_transformer_trains_on_text_resumes_bit_for_bit_and_samples_with_its_cache() {
    let text = text_file("text-corpus", 12_000);
    let (whole, parts) = (scratch("text-whole"), scratch("text-parts"));
    let (code, _, err) = train_text(&whole, &text, &["--epochs", "2"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(train_text(&parts, &text, &["--epochs", "1"]).0, 0);
    assert_eq!(train_text(&parts, &text, &["--epochs", "2", "--resume"]).0, 0);
    let bytes = |dir: &Path| std::fs::read(dir.join("checkpoint.safetensors")).unwrap();
    assert_eq!(bytes(&whole), bytes(&parts), "dropout in attention and feed-forward resumes where it stopped");
    let metrics = std::fs::read_to_string(whole.join("metrics.csv")).unwrap();
    let header: Vec<&str> = metrics.lines().next().unwrap().split(',').collect();
    let rows: Vec<Vec<f64>> =
        metrics.lines().skip(1).map(|l| l.split(',').map(|v| v.parse().unwrap()).collect()).collect();
    let col = |row: usize, name: &str| rows[row][header.iter().position(|h| *h == name).unwrap()];
    for row in 0..2 {
        assert!((col(row, "test_bpb") - col(row, "test_loss") / std::f64::consts::LN_2).abs() < 1e-12);
    }
    // Below 8 bits a byte (a uniform guess), and falling.
    assert!(col(1, "test_bpb") < col(0, "test_bpb") && col(0, "test_bpb") < 8.0, "{metrics}");
    let ck = whole.join("checkpoint.safetensors");
    let sample = |extra: &[&str]| {
        let mut args =
            vec!["sample", "--checkpoint", ck.to_str().unwrap(), "--prompt", "the license", "--tokens", "80"];
        args.extend(extra);
        for (flag, default) in [("--temperature", "0.7"), ("--seed", "3")] {
            if !extra.contains(&flag) {
                args.extend([flag, default]);
            }
        }
        let (code, out, err) = gradus(&args);
        assert_eq!(code, 0, "{err}");
        out
    };
    let cached = sample(&[]);
    assert!(cached.starts_with("the license") && cached.len() > 80, "{cached}");
    // 80 bytes after an 11-byte prompt pass the 32-byte window: the cache
    // is refilled, as the window slides.
    assert_eq!(cached, sample(&["--no-cache"]), "cached and uncached generation agree");
    assert_ne!(cached, sample(&["--seed", "4"]), "the seed draws the bytes");
    // Curvature and sharpness through attention and layer norm.
    let t = text.to_str().unwrap();
    let (code, out, err) = gradus(&[
        "curvature",
        "--checkpoint",
        ck.to_str().unwrap(),
        "--data",
        "text",
        "--text",
        t,
        "--context",
        "32",
        "--subset",
        "16",
        "--top",
        "2",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"eigenvalues\""), "{out}");
    let sharp = scratch("text-sharp").join("run");
    let (code, _, err) = train_text(&sharp, &text, &["--epochs", "1", "--sharpness-every", "10"]);
    assert_eq!(code, 0, "{err}");
    let measured = std::fs::read_to_string(sharp.join("sharpness.csv")).unwrap();
    assert!(measured.lines().count() >= 2, "{measured}");
    let greedy = sample(&["--temperature", "0", "--top-k", "1"]);
    assert_eq!(greedy, sample(&["--temperature", "0", "--seed", "9"]), "temperature 0 is the likeliest byte");
}

#[test]
fn text_input_that_cannot_train_is_refused_before_anything_is_written() {
    let text = text_file("text-hostile", 3_000);
    let empty = scratch("text-empty").with_extension("txt");
    std::fs::write(&empty, "").unwrap();
    let t = text.to_str().unwrap();
    let mut outs = Vec::new();
    let mut train = |name: &str, extra: &[&str], says: &'static str| -> Case {
        let out = scratch(&format!("text-hostile-{name}")).join("run");
        let mut args = vec!["train", "--data", "text", "--epochs", "1", "--out", out.to_str().unwrap()];
        outs.push(out.clone());
        args.extend(extra);
        case("text", &args, 2, says)
    };
    let small = "seq(embedding(256, 8), pos_embedding(16, 8), transformer(8, 2, 16), linear(8, 256))";
    let cases = vec![
        train("few-rows", &["--text", t, "--model", "seq(embedding(100, 8), linear(8, 256))"], "tokens below 100"),
        train("long-context", &["--text", t, "--context", "32", "--model", small], "has 16 positions"),
        train(
            "heads",
            &["--text", t, "--model", "seq(embedding(256, 8), transformer(8, 3), linear(8, 256))"],
            "`d_model` 8 must be divisible by `nhead` 3",
        ),
        train("empty", &["--text", empty.to_str().unwrap(), "--model", small, "--context", "8"], "the file is empty"),
        train("missing", &["--text", "/no/such/file.txt", "--model", small], "/no/such/file.txt"),
        train("no-text", &["--model", small], "--data text needs --text FILE"),
        train(
            "no-embedding",
            &["--text", t, "--context", "8", "--model", "seq(linear(8, 256))"],
            "starts with embedding(256",
        ),
        train("short", &["--text", t, "--context", "1000", "--model", small], "hold no window of 1000"),
        train(
            "wide",
            &["--text", t, "--context", "8", "--model", "seq(embedding(256, 8), linear(8, 10))"],
            "fewer than the data's 256",
        ),
        train("augment", &["--text", t, "--model", small, "--augment", "flip=true"], "--data text has none"),
        case(
            "text",
            &["train", "--data", "mnist", "--text", t, "--out", "/tmp/unused-text-run"],
            2,
            "--text is for --data text",
        ),
        case("sample", &["sample", "--checkpoint", "/no/such.safetensors", "--prompt", "a"], 2, "no such file"),
    ];
    check(cases);
    for out in outs {
        assert!(!out.exists(), "{} was written by a refused run", out.display());
    }
    assert!(!Path::new("/tmp/unused-text-run").exists());
}
