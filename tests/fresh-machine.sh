#!/usr/bin/env bash
# Shows that the README's first command works on a fresh Debian 12 machine:
# builds a minimal Debian 12 (bookworm) root with debootstrap, in which none
# of xfer's build dependencies are installed (only make and git, to clone and
# run the README's command), clones this checkout's HEAD into it and runs
# `make demo` there once, as root, as a newcomer would. It passes when that
# single run ends with exit status 0 and a finished report.
#
# Run by hand, as root, on a Debian machine that can reach the Debian mirror
# (it is not part of `make test`: it downloads about 1 GB of packages and takes
# 10-20 minutes on 2 cores):
#
#   tests/fresh-machine.sh [ROOT_DIR]     # default /var/tmp/xfer-fresh-root
#
# The root folder is kept for inspection (and ROOT_DIR.base, the untouched
# debootstrap result, for the next run); `KEEP_ROOT=0` removes the root.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
root=${1:-/var/tmp/xfer-fresh-root}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

if [ "$(id -u)" -ne 0 ]; then
  echo "fresh-machine: run as root (debootstrap and chroot need it)" >&2
  exit 2
fi
command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap >&2

mounted=()
cleanup() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}" 2>/dev/null || true; done
  if [ "${KEEP_ROOT:-1}" = 0 ]; then rm -rf "$root"; fi
}
trap cleanup EXIT

# debootstrap once into $root.base; every run starts from a fresh copy of it.
if [ ! -x "$root.base/usr/bin/apt-get" ]; then
  echo "fresh-machine: debootstrap bookworm into $root.base" >&2
  rm -rf "$root.base"
  debootstrap --variant=minbase bookworm "$root.base" "$mirror" >&2
fi
rm -rf "$root"
cp -a "$root.base" "$root"
# A chroot must not start daemons (slurm and munge are among the packages).
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$root/etc/resolv.conf"
for m in proc sys dev dev/pts; do
  mkdir -p "$root/$m"
  mount --bind "/$m" "$root/$m"
  mounted+=("$root/$m")
done

in_root() {
  chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive "$@"
}

# What the machine has before the README's command: make and git, nothing more.
in_root apt-get update -qq
in_root apt-get install -y -qq --no-install-recommends make git ca-certificates >&2
# The host's own network trust (a proxy's CA, an npm cafile) belongs to the
# network, not to xfer: carry it over so the root reaches what the host does.
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
  cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
  in_root update-ca-certificates >/dev/null
fi
[ -f /etc/npmrc ] && cp /etc/npmrc "$root/etc/npmrc"
for pkg in libfreetype-dev libcairo2-dev libopenblas-dev libgsl-dev libcriterion-dev pkg-config gcc; do
  if in_root dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    echo "fresh-machine: $pkg is already installed in $root: not a fresh machine" >&2
    exit 1
  fi
done

rm -rf "$root/root/xfer"
git clone -q "$repo" "$root/root/xfer"
echo "fresh-machine: make demo in $root/root/xfer (commit $(git -C "$repo" rev-parse --short HEAD))" >&2
start=$(date +%s)
if ! in_root /bin/sh -c 'cd /root/xfer && make demo'; then
  echo "fresh-machine: FAILED: make demo did not succeed in one run" >&2
  exit 1
fi
report="$root/root/xfer/runs/quick/report/index.html"
if [ ! -s "$report" ]; then
  echo "fresh-machine: FAILED: make demo exited 0 but wrote no $report" >&2
  exit 1
fi
echo "fresh-machine: ok: make demo passed in one run in $(($(date +%s) - start)) s; report $report" >&2
