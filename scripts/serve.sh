#!/usr/bin/env bash
# Set up, build the page and serve it on 127.0.0.1 (prints the URL).
#   ./scripts/serve.sh [--port N] [--skip-setup] [--skip-build]
# The served directory, target/web-root/, links index.html, www/ and the assets the page
# fetches: weights/ (every assets/weights/*.safetensors plus manifest.txt listing them, and
# the run records *.run.json listed in records.txt),
# labels/ and photos/.
set -euo pipefail
cd "$(dirname "$0")/.."
port=8000
setup=1
build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port="$2"; shift 2 ;;
    --skip-setup) setup=0; shift ;;
    --skip-build) build=0; shift ;;
    *) echo "usage: $0 [--port N] [--skip-setup] [--skip-build]" >&2; exit 2 ;;
  esac
done

if [ "$setup" = 1 ]; then ./scripts/setup.sh; fi
if [ "$build" = 1 ]; then ./scripts/build-web.sh; fi

root=target/web-root
rm -rf "$root"
mkdir -p "$root/weights"
ln -s ../../index.html "$root/index.html"
ln -s ../../www "$root/www"
ln -s ../../assets/labels "$root/labels"
ln -s ../../assets/photos "$root/photos"
: > "$root/weights/manifest.txt"
for file in assets/weights/*.safetensors; do
  [ -f "$file" ] || continue
  name=$(basename "$file")
  ln -s "../../../$file" "$root/weights/$name"
  echo "$name" >> "$root/weights/manifest.txt"
done
# Run records of the weights trained here (the lab draws their curves), listed in records.txt.
: > "$root/weights/records.txt"
for file in assets/weights/*.run.json; do
  [ -f "$file" ] || continue
  ln -s "../../../$file" "$root/weights/$(basename "$file")"
  basename "$file" >> "$root/weights/records.txt"
done
[ -f www/pkg/convscope.js ] || { echo "www/pkg is missing: run ./scripts/build-web.sh" >&2; exit 1; }

echo "convscope page: http://127.0.0.1:$port/  (trained weights: $(tr '\n' ' ' < "$root/weights/manifest.txt"))"
exec python3 -m http.server --bind 127.0.0.1 --directory "$root" "$port"
