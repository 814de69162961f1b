#!/usr/bin/env bash
# The page's speed per engine (fast CPU engine, WebGPU): first top-5 after opening the page,
# median ms per image, webcam frames per second (Chromium's fake camera). Builds the page,
# serves it on a free port and drives headless Chromium; prints a table for BENCHMARKS.md.
# BENCH_MODEL, BENCH_IMAGES and BENCH_CAMERA_MS change what it measures.
set -euo pipefail
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
[ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund
./scripts/build-web.sh
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p artifacts
./scripts/serve.sh --skip-setup --skip-build --port "$port" > artifacts/bench-server.log 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  curl -sf "http://127.0.0.1:$port/index.html" >/dev/null && break
  sleep 0.2
done
echo "load: $(uptime)"
ARTIFACTS=artifacts node tests/page/bench.mjs "http://127.0.0.1:$port/"
