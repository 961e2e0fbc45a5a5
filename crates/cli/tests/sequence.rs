//! Sequence models from the command line: images read as sequences of
//! rows by recurrent layers, and the bad specs they invite, refused with
//! exit 2 before anything is written.

mod common;

use common::cases::{check, train};
use common::{fake_mnist, gradus, scratch};

#[test]
fn sequence_specs_that_cannot_run_are_refused_naming_the_item() {
    check(vec![
        train(
            "sequence",
            "s1",
            &["--model", "seq(lstm(28, 16), last_token, linear(16, 10))"],
            2,
            "LSTM(28, 16) needs a sequence [N, T, 28] (T > 0; images need reshape to rows first), got [N, 1, 28, 28]",
        ),
        train(
            "sequence",
            "s2",
            &["--model", "seq(flatten, reshape(27, 28), gru(28, 8), last_token, linear(8, 10))"],
            2,
            "Reshape[27, 28] needs examples of 756 values",
        ),
        train(
            "sequence",
            "s3",
            &["--model", "seq(flatten, reshape(28, 28), gru(27, 8), last_token, linear(8, 10))"],
            2,
            "GRU(27, 8) needs a sequence [N, T, 27]",
        ),
        train(
            "sequence",
            "s4",
            &["--model", "seq(flatten, last_token, linear(784, 10))"],
            2,
            "LastToken needs a sequence",
        ),
        train(
            "sequence",
            "s5",
            &["--model", "seq(flatten, reshape(28, 28), lstm(28, 0))"],
            2,
            "`hidden_size` must be positive",
        ),
        train(
            "sequence",
            "s6",
            &["--model", "seq(flatten, reshape(28, 28), lstm(28, 4, dropout=1), last_token, linear(4, 10))"],
            2,
            "`dropout` must be in [0, 1), got 1",
        ),
        train(
            "sequence",
            "s7",
            &["--model", "seq(reshape, linear(784, 10))"],
            2,
            "takes the dimensions of each example",
        ),
        train("sequence", "s8", &["--model", "seq(reshape(28, 0.5))"], 2, "positive integers below 10^9"),
        train(
            "sequence",
            "s9",
            &["--model", "seq(flatten, reshape(28, 28), gru(28, 8, num_layers=0), mean_tokens, linear(8, 10))"],
            2,
            "`num_layers` must be positive",
        ),
    ]);
}

#[test]
fn a_recurrent_network_trains_and_resumes_bit_for_bit() {
    let data = fake_mnist();
    let d = data.to_str().unwrap();
    let model = "seq(flatten, reshape(28, 28), lstm(28, 8, num_layers=2, dropout=0.3), last_token, linear(8, 10))";
    let run = |out: &std::path::Path, epochs: &str, extra: &[&str]| {
        let o = out.to_str().unwrap();
        let mut args = vec!["train", "--data-dir", d, "--model", model, "--epochs", epochs, "--batch-size", "40"];
        args.extend(["--optimizer", "adam(lr=1e-2)", "--out", o]);
        args.extend(extra);
        let (code, _, err) = gradus(&args);
        assert_eq!(code, 0, "{err}");
    };
    let (whole, parts) = (scratch("seq-whole"), scratch("seq-parts"));
    run(&whole, "2", &[]);
    run(&parts, "1", &[]);
    run(&parts, "2", &["--resume"]);
    let bytes = |dir: &std::path::Path| std::fs::read(dir.join("checkpoint.safetensors")).unwrap();
    assert_eq!(bytes(&whole), bytes(&parts), "dropout between layers resumes where it stopped");
    let metrics = std::fs::read_to_string(whole.join("metrics.csv")).unwrap();
    assert!(metrics.lines().next().unwrap().contains("grad_norm:2.weight_hh_l1"), "{metrics}");
}
