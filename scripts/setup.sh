#!/usr/bin/env bash
# Installs every Debian package Ferry's build, demo and tests need, fetches the
# source packages (lwIP, mbedTLS) that the Makefile builds freestanding, and the Linux
# guest's files (scripts/guest-linux.sh: Debian's cloud kernel, busybox, an initramfs).
# Idempotent.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
DEPS="$ROOT/build/deps"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

PACKAGES=(
  build-essential gnu-efi binutils make git
  clang llvm lld libclang-rt-14-dev
  bochs bochsbios vgabios bochs-term
  qemu-system-x86 ovmf
  mtools dosfstools
  iproute2 iputils-ping tcpdump netcat-openbsd util-linux procps
  python3 python3-pytest python3-matplotlib
  dpkg-dev
  acpica-tools
)

# deb-src entries are needed for `apt-get source`; Debian 12 keeps sources in deb822 form.
ensure_deb_src() {
  local f=/etc/apt/sources.list.d/debian.sources
  if [ -f "$f" ] && ! grep -q '^Types:.*deb-src' "$f"; then
    $SUDO sed -i 's/^Types: deb$/Types: deb deb-src/' "$f"
    return 0
  fi
  if [ ! -f "$f" ] && ! grep -rqs '^deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    grep -h '^deb ' /etc/apt/sources.list 2>/dev/null | sed 's/^deb /deb-src /' \
      | $SUDO tee /etc/apt/sources.list.d/ferry-src.list >/dev/null
  fi
}

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

need_sources=0
[ -d "$DEPS/lwip" ] || need_sources=1
[ -d "$DEPS/mbedtls" ] || need_sources=1

if [ ${#missing[@]} -gt 0 ] || [ $need_sources -eq 1 ]; then
  ensure_deb_src
  $SUDO apt-get update -qq
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

fetch_source() {   # fetch_source PACKAGE DIRNAME
  local pkg=$1 name=$2
  [ -d "$DEPS/$name" ] && return 0
  local tmp; tmp=$(mktemp -d)
  chmod 755 "$tmp"   # apt's download user must be able to write there
  (cd "$tmp" && apt-get source -qq --download-only "$pkg" >/dev/null \
     && dpkg-source --no-check -x ./*.dsc src >/dev/null)
  mkdir -p "$DEPS"
  mv "$tmp/src" "$DEPS/$name"
  rm -rf "$tmp"
  echo "setup: fetched $pkg source into build/deps/$name"
}
fetch_source lwip lwip
fetch_source mbedtls mbedtls
# The Linux guest's files come from Debian's archive, which moves: when they cannot be had,
# setup goes on (everything else needs them not), and the reason is kept where the Linux
# guest's tests read it and print it as the reason they are skipped.
LINUX_MISSING=build/guests/linux-missing.txt
mkdir -p build/guests
if scripts/guest-linux.sh 2> >(tee build/guests/linux-setup.err >&2); then
  rm -f "$LINUX_MISSING"
else
  { echo "the Linux guest files could not be made (scripts/guest-linux.sh):"; \
    grep '^guest-linux:' build/guests/linux-setup.err || true; } > "$LINUX_MISSING"
  echo "setup: WARNING: $(tail -n 1 "$LINUX_MISSING"); the Linux guest's tests will be skipped" >&2
fi
echo "setup: ready"
