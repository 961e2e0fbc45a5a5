#!/bin/sh
# K-FAC and Hessian-free against Adam on Fashion-MNIST (docs/guide.md,
# "Curvature in the optimiser"): each run's seconds per step (the
# training time metrics.csv records, over its steps) and test accuracy
# after each epoch, as a Markdown table on standard output.
# Usage: scripts/curvature_optimisers.sh [OUT_DIR]   (default target/curvature-optimisers)
set -eu
out=${1:-target/curvature-optimisers}
gradus=${GRADUS:-target/release/gradus}
mlp="mlp(784, 256, 128, 10, act=relu)"
cnn="seq(conv2d(1, 32, 3, padding=1), relu, maxpool2d(2), conv2d(32, 64, 3, padding=1), relu, maxpool2d(2), flatten, dropout(0.25), linear(3136, 128), relu, linear(128, 10))"
echo "| model | optimiser | batch | s/step | seconds | test accuracy by epoch |"
echo "|---|---|---|---|---|---|"
run() { # name model optimiser batch epochs
    dir="$out/$1"
    rm -rf "$dir"
    "$gradus" train --model "$2" --optimizer "$3" --batch-size "$4" --epochs "$5" --seed 0 --out "$dir" >/dev/null 2>&1
    steps=$(( (60000 + $4 - 1) / $4 ))
    awk -F, -v m="$6" -v o="$3" -v b="$4" -v steps="$steps" '
        NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
        { t += $col["seconds"]; n++; acc = acc (acc == "" ? "" : ", ") sprintf("%.4f", $col["test_accuracy"]) }
        END { printf "| %s | `%s` | %d | %.4f | %.1f | %s |\n", m, o, b, t / (n * steps), t, acc }' "$dir/metrics.csv"
}
run mlp-adam "$mlp" "adam(lr=1e-3)" 128 5 MLP
run mlp-adam-1000 "$mlp" "adam(lr=1e-3)" 1000 5 MLP
run mlp-kfac "$mlp" "kfac(lr=0.003)" 128 5 MLP
run mlp-hf "$mlp" "hessian_free(cg_steps=10)" 1000 5 MLP
run cnn-adam "$cnn" "adam(lr=1e-3)" 128 3 CNN
run cnn-kfac "$cnn" "kfac(lr=0.003)" 128 3 CNN
run cnn-hf "$cnn" "hessian_free(cg_steps=10)" 1000 1 CNN
