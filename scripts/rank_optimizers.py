#!/usr/bin/env python3
"""Ranks gradus's optimisers as docs/guide.md's table does: for each
optimiser, `gradus lr-find` on a fresh model picks the rate (fastai's
`valley` suggestion), then `gradus train` trains with it; the table gives
the rate, the final test accuracy (or bits per byte on text), the test
loss and the training time. Needs only Python's standard library and a
built `gradus` (`cargo build --release -p gradus-cli`).

    python3 scripts/rank_optimizers.py mlp  OUT_DIR   # Fashion-MNIST MLP
    python3 scripts/rank_optimizers.py text OUT_DIR   # small transformer on licence texts
"""
import csv
import glob
import json
import os
import subprocess
import sys

GRADUS = os.environ.get("GRADUS", os.path.join(os.path.dirname(__file__), "..", "target", "release", "gradus"))

# Each optimiser with `{lr}` where the rate goes (a wrapper's inner rate).
OPTIMIZERS = [
    "sgd(lr={lr}, momentum=0.9)",
    "adamw(lr={lr})",
    "lion(lr={lr})",
    "signum(lr={lr})",
    "yogi(lr={lr})",
    "adabelief(lr={lr})",
    "lamb(lr={lr})",
    "lars(lr={lr})",
    "adan(lr={lr})",
    "novograd(lr={lr})",
    "adopt(lr={lr})",
    "ademamix(lr={lr})",
    "schedule_free_sgd(lr={lr})",
    "schedule_free_adamw(lr={lr})",
    "prodigy(lr={lr})",
    "adafactor(lr={lr})",
    "muon(lr={lr})",
    "lookahead(adam(lr={lr}), k=5, alpha=0.5)",
    "sam(sgd(lr={lr}, momentum=0.9), rho=0.05)",
    "sophia(lr={lr})",
]

TEXTS = sorted(p for p in glob.glob("/usr/share/common-licenses/*") if os.path.isfile(p) and not os.path.islink(p))
SETUPS = {
    "mlp": dict(
        data=["--data", "fashion-mnist"],
        model="mlp(784, 256, 128, 10)",
        batch="128",
        epochs="5",
    ),
    "text": dict(
        data=["--data", "text", "--context", "64"] + [a for t in TEXTS for a in ("--text", t)],
        model="seq(embedding(256, 64), pos_embedding(64, 64), "
        "repeat(2, transformer(64, 4, 256, norm_first=true, causal=true)), layernorm(64), linear(64, 256))",
        batch="32",
        epochs="3",
    ),
}


def run(args):
    done = subprocess.run([GRADUS] + args, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"gradus {' '.join(args)}: {done.stderr}")
    return done.stdout


def main():
    kind, out = sys.argv[1], sys.argv[2]
    s = SETUPS[kind]
    common = s["data"] + ["--model", s["model"], "--batch-size", s["batch"], "--seed", "0"]
    rows = []
    for template in OPTIMIZERS:
        probe = template.format(lr=1e-3)
        found = json.loads(run(["lr-find", "--optimizer", probe, "--format", "json"] + common))["suggestions"]
        lr = found["valley"] or found["steep"]
        spec = template.format(lr=float(f"{lr:.2g}"))
        name = template.split("(")[0]
        target = os.path.join(out, name)
        run(["train", "--optimizer", spec, "--epochs", s["epochs"], "--out", target, "--overwrite"] + common)
        with open(os.path.join(target, "metrics.csv")) as f:
            metrics = list(csv.DictReader(f))
        last = metrics[-1]
        seconds = sum(float(m["seconds"]) for m in metrics)
        score = float(last["test_bpb"]) if kind == "text" else float(last["test_accuracy"])
        rows.append((score, spec, float(last["test_loss"]), seconds))
        print(f"{spec}: {score:.4f}, test loss {float(last['test_loss']):.4f}, {seconds:.1f} s", file=sys.stderr)
    rows.sort(key=lambda r: r[0], reverse=(kind != "text"))
    what = "test bits/byte" if kind == "text" else "test accuracy"
    print(f"| rank | optimiser (rate from lr-find) | {what} | test loss | training seconds |")
    print("|---|---|---|---|---|")
    for i, (score, spec, loss, seconds) in enumerate(rows, 1):
        print(f"| {i} | `{spec}` | {score:.4f} | {loss:.4f} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
