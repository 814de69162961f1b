#!/usr/bin/env bash
# Retrains the five families at Fashion-MNIST scale and the ResNet's plain twin with their
# recorded settings (the zoo entries' recipe: 5 epochs, seed 1, checkpoints after epochs
# 1, 2, 4 and 5), writing assets/weights/<model>.safetensors, <model>.epoch<N>.safetensors
# and the run record <model>.run.json. Each run is also one command: `convscope train <model>`.
# Needs ./scripts/setup.sh (Fashion-MNIST and the release build). About 3-5 minutes per
# model, 25 minutes in all, on 2 busy cores. CONVSCOPE may name another build of the binary.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${CONVSCOPE:-}" ]; then
    cargo build --release --quiet
    CONVSCOPE=./target/release/convscope
fi
models="fmnist_resnet fmnist_plain fmnist_googlenet fmnist_alexnet fmnist_vgg fmnist_nin"
for model in ${@:-$models}; do
    "$CONVSCOPE" train "$model"
done
