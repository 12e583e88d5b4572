#!/bin/sh
# The full-size timm shapes, not part of `make test` (a few minutes, ~1.5 GB
# of temporary files): ViT-B/16 and Mixer-B/16 with random weights in
# timm's layout (tools/timm_reference.py --full), imported by their timm
# names, logits and every tap against PyTorch within 1e-4 of the largest
# entry. Usage: tools/check_timm_full.sh [BUILD_DIR] (default build; run
# `make build` first).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$root"
# The Makefile's own link line, so the two cannot drift apart.
libs=$(make -s --no-print-directory --eval 'print-ldlibs: ; @echo $(LDLIBS)' print-ldlibs)
cc -std=c11 -O2 -Isrc -I/usr/include/x86_64-linux-gnu/openblas-pthread \
   -o "$dir/check_timm_full" tools/check_timm_full.c "$build/libxfer.a" $libs
/usr/bin/python3 tools/timm_reference.py --full --out-dir "$dir"
"$dir/check_timm_full" "$dir" vit_base_patch16_224 vit_base_patch16_224.augreg_in21k
"$dir/check_timm_full" "$dir" mixer_b16_224 mixer_b16_224.goog_in21k
