#!/usr/bin/env bash
# The whole test suite: formatting, then every Rust test (optimised, see [profile.test]).
set -euo pipefail
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
cargo fmt --all -- --check
cargo test --all-targets
