#!/usr/bin/env bash
# The whole test suite. Needs the set-up (./scripts/setup.sh) for real weights, labels,
# photos and Fashion-MNIST. GPU tests run on whatever adapter wgpu finds (lavapipe here)
# and fail, rather than skip, when there is none.
set -euo pipefail
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
export CONVSCOPE_REQUIRE_GPU=1
export CONVSCOPE_EFFNET_PTH="$PWD/.cache/efficientnet-lite0.pth"
rustup component add rustfmt clippy >/dev/null 2>&1 || true
cargo fmt --all -- --check
cargo clippy --release --all-targets -- -D warnings
# torchvision's networks saved by torch.save, with torch's logits (tests/torchvision_pth.rs):
# made once into .cache/pth (about a minute, 1.8 GB) with Debian's torch (scripts/setup.sh).
/usr/bin/python3 scripts/fixtures/make_pth.py large .cache/pth
export CONVSCOPE_PTH_DIR="$PWD/.cache/pth"
cargo test --release --all-targets
# The page's Session compiled to WebAssembly, in headless Chromium with WebGPU.
./scripts/test-wasm.sh
# The page in headless Chromium, with WebGPU (SwiftShader) and without.
./scripts/test-page.sh
