#!/usr/bin/env bash
# Retrains every teaching-lab network on Fashion-MNIST with its recorded settings
# (the zoo entry's recipe), writing assets/weights/<model>.safetensors and the run record
# <model>.run.json beside it. Each run is also one command: `convscope train <model>`.
# Needs ./scripts/setup.sh (Fashion-MNIST and the release build). About 5 minutes per model
# on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
models=$(./target/release/convscope models | awk '$1 ~ /^lab_/ {print $1}')
for model in ${@:-$models}; do
    ./target/release/convscope train "$model"
done
