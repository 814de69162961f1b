#!/usr/bin/env bash
# The page's Session in headless Chromium with WebGPU (tests/web_session.rs) and the fast CPU
# engine in WebAssembly (tests/fastcpu_wasm.rs): wasm-bindgen-test
# through chromedriver, configured by .cargo/config.toml (the runner) and webdriver.json (the
# browser and its WebGPU flag). Installs Chromium, chromedriver and the wasm tools if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

need=()
for pkg in chromium chromium-driver; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
./scripts/wasm-tools.sh
# No -q: cargo would pass --quiet on to the runner, which refuses it.
cargo test --release --target wasm32-unknown-unknown --test web_session
# The fast CPU engine with simd128 against the reference at every node of every zoo model
# (tests/fastcpu_wasm.rs); --nocapture shows its EfficientNet-Lite0 timing. The runner's
# budget (WASM_BINDGEN_TEST_TIMEOUT, 20 s by default) is for the whole file: the zoo takes
# a few minutes on two busy cores.
WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-900}" \
  cargo test --release --target wasm32-unknown-unknown --test fastcpu_wasm -- --nocapture
