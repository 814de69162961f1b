#!/usr/bin/env bash
# The WebAssembly tools, installed when missing: the wasm32 target, and the wasm-bindgen CLI
# (which brings wasm-bindgen-test-runner) at the version of the `wasm-bindgen = "=X"` pin in
# Cargo.toml. Used by build-web.sh and test-wasm.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi

# The crate and the CLI must be the same version, or wasm-bindgen refuses the module.
version=$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)".*/\1/p' Cargo.toml | head -1)
if [ -z "$version" ]; then
  echo "wasm-tools: Cargo.toml does not pin wasm-bindgen with =X.Y.Z" >&2
  exit 1
fi
if ! command -v wasm-bindgen >/dev/null || ! command -v wasm-bindgen-test-runner >/dev/null \
   || [ "$(wasm-bindgen --version | awk '{print $2}')" != "$version" ]; then
  echo "installing wasm-bindgen-cli $version (about 2 minutes)"
  # Not --locked: a locked dependency of the CLI is missing from the registry mirror here.
  cargo install wasm-bindgen-cli --version "$version"
fi
