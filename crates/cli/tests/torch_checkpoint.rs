//! A CNN, a residual network, a network of every normalisation layer and
//! recurrent networks (a two-layer bidirectional LSTM, a GRU), a row-wise
//! transformer (learned positions, pre-norm and causal post-norm layers),
//! each trained by `gradus train`, load into the equivalent PyTorch module
//! from their checkpoints (names `model.0.weight`, …, batch norm's buffers
//! included; dropout's random-number counters are gradus's own and left
//! out) and gives the same test logits and predictions; so do the averages
//! `--ema` and `--swa-start` save beside the model (`ema.…`, `swa.…`, the
//! same names after the prefix). Needs a Python
//! with torch (`$GRADUS_TORCH_PYTHON`, `/opt/torchenv/bin/python` or
//! `python3`); without one the test says so and passes.

mod common;

use gradus::models::ModelSpec;
use gradus::nn::Module;
use std::process::Command;

const MODEL: &str = "seq(conv2d(1, 4, 3, padding=1), batchnorm2d(4), relu, maxpool2d(2), conv2d(4, 6, 3, stride=2), relu, flatten, dropout(0.2), linear(216, 10))";
const NET: &str = "torch.nn.Sequential(
    torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
    torch.nn.Conv2d(4, 6, 3, stride=2), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Dropout(0.2),
    torch.nn.Linear(216, 10))";

const RES_MODEL: &str = "seq(conv2d(1, 4, 3, padding=1), batchnorm2d(4), relu, \
    res(conv2d(4, 8, 3, stride=2, padding=1, bias=false), batchnorm2d(8), relu, conv2d(8, 8, 3, padding=1), \
        shortcut=seq(conv2d(4, 8, 1, stride=2, bias=false), batchnorm2d(8))), relu, \
    repeat(2, res(conv2d(8, 8, 3, padding=1), batchnorm2d(8))), maxpool2d(2), flatten, linear(392, 10))";
const RES_NET: &str = "torch.nn.Sequential(
    torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
    Res([torch.nn.Conv2d(4, 8, 3, stride=2, padding=1, bias=False), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
         torch.nn.Conv2d(8, 8, 3, padding=1)],
        [torch.nn.Conv2d(4, 8, 1, stride=2, bias=False), torch.nn.BatchNorm2d(8)]), torch.nn.ReLU(),
    torch.nn.Sequential(Res([torch.nn.Conv2d(8, 8, 3, padding=1), torch.nn.BatchNorm2d(8)]),
                        Res([torch.nn.Conv2d(8, 8, 3, padding=1), torch.nn.BatchNorm2d(8)])),
    torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(392, 10))";

const NORM_MODEL: &str = "seq(conv2d(1, 6, 3, padding=1), groupnorm(3, 6), relu, instancenorm2d(6, affine=true), \
    maxpool2d(2), layernorm((14, 14)), conv2d(6, 4, 3, stride=2), instancenorm2d(4), \
    flatten, linear(144, 16), rmsnorm(16, eps=1e-6), silu, layernorm(16, bias=false), linear(16, 10))";
const NORM_NET: &str = "torch.nn.Sequential(
    torch.nn.Conv2d(1, 6, 3, padding=1), torch.nn.GroupNorm(3, 6), torch.nn.ReLU(), torch.nn.InstanceNorm2d(6, affine=True),
    torch.nn.MaxPool2d(2), torch.nn.LayerNorm((14, 14)), torch.nn.Conv2d(6, 4, 3, stride=2), torch.nn.InstanceNorm2d(4),
    torch.nn.Flatten(), torch.nn.Linear(144, 16), torch.nn.RMSNorm(16, eps=1e-6), torch.nn.SiLU(),
    torch.nn.LayerNorm(16, bias=False), torch.nn.Linear(16, 10))";

const RNN_MODEL: &str = "seq(flatten, reshape(28, 28), lstm(28, 8, num_layers=2, bidirectional=true, dropout=0.1), \
    last_token, linear(16, 10))";
const RNN_NET: &str = "torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Unflatten(1, (28, 28)),
    LSTM(28, 8, num_layers=2, bidirectional=True, dropout=0.1), LastToken(), torch.nn.Linear(16, 10))";
const GRU_MODEL: &str = "seq(flatten, reshape(28, 28), gru(28, 12, bias=false), mean_tokens, linear(12, 10))";
const GRU_NET: &str = "torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Unflatten(1, (28, 28)),
    GRU(28, 12, bias=False), MeanTokens(), torch.nn.Linear(12, 10))";

const TRANSFORMER_MODEL: &str = "seq(flatten, reshape(28, 28), linear(28, 16), pos_embedding(28, 16), \
    transformer(16, 2, 32, dropout=0.1, activation=gelu, norm_first=true), \
    transformer(16, 4, 24, causal=true), attention(16, 2, dropout=0.1, causal=true), mean_tokens, linear(16, 10))";
const TRANSFORMER_NET: &str = "torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Unflatten(1, (28, 28)),
    torch.nn.Linear(28, 16), PosEmbedding(28, 16),
    Transformer(16, 2, 32, dropout=0.1, activation='gelu', norm_first=True),
    Transformer(16, 4, 24, causal=True), Attention(16, 2, dropout=0.1, causal=True), MeanTokens(),
    torch.nn.Linear(16, 10))";

/// The same network in PyTorch, reading the checkpoint's safetensors and
/// the test images (IDX) by hand, printing one row of logits per image.
const TORCH: &str = r#"
import json, struct, sys
import torch
ckpt, images, spec, scripts, prefix = sys.argv[1:6]
sys.path.insert(0, scripts)
from torch_items import GRU, LSTM, Attention, LastToken, MeanTokens, PosEmbedding, Res, Transformer


with open(ckpt, "rb") as f:
    data = f.read()
n = struct.unpack("<Q", data[:8])[0]
header = json.loads(data[8:8 + n])
state = {}
for name, info in header.items():
    if name == "__metadata__" or not name.startswith(prefix):
        continue
    if info["dtype"] == "U64":
        continue  # dropout's random-number counters, gradus's own
    a, b = info["data_offsets"]
    assert info["dtype"] == "F32", info
    t = torch.frombuffer(bytearray(data[8 + n + a:8 + n + b]), dtype=torch.float32).reshape(info["shape"])
    state[name[len(prefix):]] = t
net = eval(spec)
net.load_state_dict(state, strict=True)
net.eval()
with open(images, "rb") as f:
    raw = f.read()
count = struct.unpack(">I", raw[4:8])[0]
x = torch.tensor(list(raw[16:16 + count * 784]), dtype=torch.float32).reshape(count, 1, 28, 28) / 255
with torch.no_grad():
    for row in net(x).tolist():
        print(" ".join(repr(v) for v in row))
"#;

#[test]
fn a_trained_cnn_gives_the_same_logits_in_pytorch() {
    same_logits_in_pytorch("cnn", MODEL, NET);
}

#[test]
fn a_trained_residual_network_gives_the_same_logits_in_pytorch() {
    same_logits_in_pytorch("res", RES_MODEL, RES_NET);
}

#[test]
fn a_trained_network_of_every_norm_gives_the_same_logits_in_pytorch() {
    same_logits_in_pytorch("norm", NORM_MODEL, NORM_NET);
}

#[test]
fn trained_recurrent_networks_give_the_same_logits_in_pytorch() {
    same_logits_in_pytorch("lstm", RNN_MODEL, RNN_NET);
    same_logits_in_pytorch("gru", GRU_MODEL, GRU_NET);
}

#[test]
fn a_trained_transformer_gives_the_same_logits_in_pytorch() {
    same_logits_in_pytorch("transformer", TRANSFORMER_MODEL, TRANSFORMER_NET);
}

#[test]
fn the_averaged_weights_give_the_same_logits_in_pytorch() {
    same_logits_with("ema", MODEL, NET, &["--ema", "0.9"], "ema.");
    same_logits_with("swa", MODEL, NET, &["--swa-start", "1"], "swa.");
}

/// Trains `model` for two epochs with `gradus train`, then compares the
/// checkpoint's test logits in gradus with those of `net` (a PyTorch
/// expression) loaded from the same checkpoint.
fn same_logits_in_pytorch(name: &str, model_spec: &str, net: &str) {
    same_logits_with(name, model_spec, net, &[], "model.");
}

/// [`same_logits_in_pytorch`] with more `gradus train` flags, for the
/// state dict under `prefix`.
fn same_logits_with(name: &str, model_spec: &str, net: &str, flags: &[&str], prefix: &str) {
    let Some(python) = common::python_with("torch") else {
        eprintln!("skipped: no Python with torch (set GRADUS_TORCH_PYTHON)");
        return;
    };
    let dir = std::env::temp_dir().join(format!("gradus-torch-ckpt-{name}-{}", std::process::id()));
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let images = |n: usize, salt: usize| {
        gradus::data::write_idx_u8(
            &[n, 28, 28],
            &(0..n * 784).map(|i| ((i * 7919 + salt) % 251) as u8).collect::<Vec<_>>(),
        )
    };
    let labels = |n: usize| gradus::data::write_idx_u8(&[n], &(0..n).map(|i| (i * 7 % 10) as u8).collect::<Vec<_>>());
    for (name, bytes) in [
        ("train-images-idx3-ubyte", images(256, 0)),
        ("train-labels-idx1-ubyte", labels(256)),
        ("t10k-images-idx3-ubyte", images(40, 13)),
        ("t10k-labels-idx1-ubyte", labels(40)),
    ] {
        std::fs::write(data.join(name), bytes).unwrap();
    }
    let out = dir.join("run");
    let status = Command::new(env!("CARGO_BIN_EXE_gradus"))
        .args(["train", "--data", "mnist", "--data-dir", data.to_str().unwrap(), "--model", model_spec])
        .args(["--optimizer", "adam(lr=1e-2)", "--epochs", "2", "--batch-size", "32", "--seed", "3"])
        .args(["--out", out.to_str().unwrap()])
        .args(flags)
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let ckpt = out.join("checkpoint.safetensors");

    // gradus's logits from the checkpoint, in evaluation mode.
    let spec = ModelSpec::parse(model_spec).unwrap();
    let model = spec.build::<f32>(0);
    let checkpoint = gradus::nn::Checkpoint::load(&ckpt).unwrap();
    gradus::nn::checkpoint::restore(&model, &checkpoint, prefix).unwrap();
    model.eval();
    let bytes = std::fs::read(data.join("t10k-images-idx3-ubyte")).unwrap();
    let pixels: Vec<f32> = bytes[16..].iter().map(|&b| b as f32 / 255.0).collect();
    let x = gradus::tensor::Tensor::from_vec(pixels, &[40, 1, 28, 28]).unwrap();
    let ours = model.forward(&gradus::autodiff::Tape::new(), &gradus::autodiff::Var::constant(x)).into_value().to_vec();

    let run = Command::new(&python)
        .args(["-c", TORCH, ckpt.to_str().unwrap(), data.join("t10k-images-idx3-ubyte").to_str().unwrap(), net])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts"))
        .arg(prefix)
        .output()
        .unwrap();
    assert!(run.status.success(), "torch: {}", String::from_utf8_lossy(&run.stderr));
    let theirs: Vec<f32> =
        String::from_utf8_lossy(&run.stdout).split_whitespace().map(|v| v.parse::<f64>().unwrap() as f32).collect();
    assert_eq!(theirs.len(), ours.len());
    let argmax = |row: &[f32]| row.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
    for (i, (a, b)) in ours.chunks(10).zip(theirs.chunks(10)).enumerate() {
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() <= 1e-4 * (1.0 + y.abs()), "{name}, image {i}: logits {a:?} vs torch {b:?}");
        }
        assert_eq!(argmax(a), argmax(b), "{name}, image {i}: prediction");
    }
    std::fs::remove_dir_all(&dir).ok();
}
