#!/usr/bin/env bash
# Page tests: build the WebAssembly, serve the page on a free port of 127.0.0.1 and drive it
# with Playwright and Debian's Chromium, with WebGPU (SwiftShader) and without. Installs
# Chromium and the npm dev dependency when missing; screenshots land in artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  echo "installing chromium"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
if [ ! -d node_modules/playwright-core ]; then
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
fi
# Weights, labels, photos and the native tool (the tests take expected receptive fields from it).
if [ ! -f assets/weights/efficientnet_lite0.safetensors ] || [ ! -f assets/labels/imagenet.txt ] \
   || [ ! -f assets/photos/coffee.png ] || [ ! -x target/release/convscope ]; then
  ./scripts/setup.sh
fi
./scripts/build-web.sh
# The large checkpoints of the memory test (tests/page/pth.mjs), made once with Debian's torch.
[ -f .cache/pth/alexnet.pth ] || /usr/bin/python3 scripts/fixtures/make_pth.py large .cache/pth

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p artifacts
rm -f artifacts/FAILED-*.png  # screenshots of an earlier run's failures
./scripts/serve.sh --skip-setup --skip-build --port "$port" > artifacts/server.log 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  curl -sf "http://127.0.0.1:$port/index.html" >/dev/null && break
  sleep 0.2
done
status=0
# PAGE_SUITES picks some of the suites (tests/page/NAME.mjs), e.g. PAGE_SUITES=teach.
for suite in ${PAGE_SUITES:-run lab labfamilies teach families explain evolution camera pth onnx transfer}; do
  ARTIFACTS=artifacts node "tests/page/$suite.mjs" "http://127.0.0.1:$port/" || status=1
done
exit $status
