#!/usr/bin/env bash
# Build the page's WebAssembly: the library for wasm32-unknown-unknown, then wasm-bindgen
# (--target web) into www/pkg/. Installs the wasm32 target and the wasm-bindgen CLI whose
# version matches the `wasm-bindgen = "=X"` pin in Cargo.toml when they are missing
# (scripts/wasm-tools.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/wasm-tools.sh
cargo build --release --target wasm32-unknown-unknown --lib
wasm-bindgen --target web --no-typescript --out-dir www/pkg \
  target/wasm32-unknown-unknown/release/convscope.wasm
# A build output: keep it out of git without touching the repository's .gitignore.
echo '*' > www/pkg/.gitignore
echo "built www/pkg/convscope_bg.wasm ($(du -h www/pkg/convscope_bg.wasm | cut -f1))"
