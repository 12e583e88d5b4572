#!/bin/sh
# BiT-R50x1 at full size (by hand, not in `make test`: about 15 seconds
# once built, 200 MB under $TMPDIR): the plain-PyTorch reference
# (tools/bit_reference.py, timm's ResNetV2 structure and names) with random
# weights, 1000 classes, 224 x 224, two images; then tools/check_bit_full.c
# infers the config from the weights' names and shapes (the resnet family's
# from_timm), loads them by name and compares the logits and every tap.
# Usage: tools/check_bit_full.sh  (from the repository root; builds first)
set -eu
make -s build >/dev/null
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
/usr/bin/python3 tools/bit_reference.py --blocks 3,4,6,3 --base-width 64 --classes 1000 \
  --out "$dir/reference.safetensors" --weights-out "$dir/weights.safetensors"
PKGS="cairo fontconfig freetype2 libpng libjpeg yaml-0.1 sqlite3 zlib gsl"
# shellcheck disable=SC2046
cc -std=c11 -O2 -Isrc -I/usr/include/x86_64-linux-gnu/openblas-pthread -D_GNU_SOURCE \
  -o "$dir/check_bit_full" tools/check_bit_full.c build/libxfer.a \
  $(pkg-config --libs $PKGS | sed 's/-lgslcblas//') -lcjson -llapacke -lopenblas -lm -lpthread
"$dir/check_bit_full" "$dir/weights.safetensors" "$dir/reference.safetensors"
