#!/usr/bin/env bash
# Build the page's WebAssembly: the library for wasm32-unknown-unknown, then wasm-bindgen
# (--target web) into www/pkg/. Installs the wasm32 target and the wasm-bindgen CLI whose
# version matches the `wasm-bindgen = "=X"` pin in Cargo.toml when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi

# The crate and the CLI must be the same version, or wasm-bindgen refuses the module.
version=$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)".*/\1/p' Cargo.toml | head -1)
if [ -z "$version" ]; then
  echo "build-web: Cargo.toml does not pin wasm-bindgen with =X.Y.Z" >&2
  exit 1
fi
if ! command -v wasm-bindgen >/dev/null || [ "$(wasm-bindgen --version | awk '{print $2}')" != "$version" ]; then
  echo "installing wasm-bindgen-cli $version (about 2 minutes)"
  # Not --locked: a locked dependency of the CLI is missing from the registry mirror here.
  cargo install wasm-bindgen-cli --version "$version"
fi

cargo build --release --target wasm32-unknown-unknown --lib
wasm-bindgen --target web --no-typescript --out-dir www/pkg \
  target/wasm32-unknown-unknown/release/convscope.wasm
# A build output: keep it out of git without touching the repository's .gitignore.
echo '*' > www/pkg/.gitignore
echo "built www/pkg/convscope_bg.wasm ($(du -h www/pkg/convscope_bg.wasm | cut -f1))"
