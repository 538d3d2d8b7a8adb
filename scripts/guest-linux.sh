#!/usr/bin/env bash
# The Linux guest's files: Debian's cloud kernel and an initramfs (docs/linux-guest.md).
#
#   scripts/guest-linux.sh [fetch|build|all]      (default: all; scripts/setup.sh runs it)
#
# fetch: resolves linux-image-cloud-amd64 to its versioned package
#        linux-image-<ABI>-cloud-amd64, checks that ABI against the one Ferry is pinned to
#        (LINUX_ABI below), downloads it and busybox-static with `apt-get download`, unpacks
#        both with `dpkg-deb -x` into build/deps/linux/, and checks the facts about the
#        kernel that Ferry's guest platform relies on (its config, its boot header, its
#        virtio modules). Nothing is downloaded again once unpacked.
# build: from what fetch unpacked, writes build/guests/vmlinuz (the bzImage) and
#        build/guests/initramfs.cpio.gz (busybox, tests/guests/linux/init as /init, the
#        virtio modules in load order), deterministically (scripts/mkcpio.py).
#
# Fails with a message naming the fact when the archive's ABI moved or a fact no longer
# holds: the platform (ACPI tables, modules, memory) was designed around them. Nothing
# binary enters the repository. Environment: FERRY_LINUX_ABI (try another ABI; the facts
# are checked again), FERRY_LINUX_DEPS (where to unpack; default build/deps/linux),
# FERRY_GUESTS_DIR (default build/guests).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)

# The ABI the platform was measured against (DESIGN.md, "Measured in 2026-12").
LINUX_ABI=${FERRY_LINUX_ABI:-6.1.0-57}
FLAVOUR=cloud-amd64
META_PACKAGE=linux-image-$FLAVOUR
DEPS=${FERRY_LINUX_DEPS:-$ROOT/build/deps/linux}
GUESTS=${FERRY_GUESTS_DIR:-$ROOT/build/guests}
KERNEL_ROOT=$DEPS/linux-image-$LINUX_ABI-$FLAVOUR
BUSYBOX_ROOT=$DEPS/busybox-static
RELEASE=$LINUX_ABI-$FLAVOUR

# The modules the guest loads: virtio-mmio (the transport the DSDT declares) and
# virtio-net (the next issue's NIC). Their dependencies are added from the modules.
WANTED_MODULES="virtio_mmio virtio_net"

# Config facts: NAME=VALUE, where VALUE n means "is not set". Each one decides part of the
# platform; the reason is printed when it fails.
CONFIG_FACTS=(
  "X86_MPPARSE=n|no MP table: the interrupt controllers must come from the ACPI MADT"
  "ACPI=y|the platform is described by ACPI tables only"
  "ACPI_REDUCED_HARDWARE_ONLY=n|a full ACPI kernel that accepts a hardware-reduced FADT"
  "X86_LOCAL_APIC=y|the timer and interrupts go through the local APIC"
  "X86_IO_APIC=y|COM1 and virtio interrupts go through the I/O APIC"
  "VIRTIO=m|virtio is a module, loaded from the initramfs"
  "VIRTIO_MMIO=m|virtio-mmio is a module, loaded from the initramfs"
  "VIRTIO_MMIO_CMDLINE_DEVICES=n|virtio-mmio devices must be declared in the DSDT (LNRO0005)"
  "VIRTIO_NET=m|virtio-net is a module, loaded from the initramfs"
  "KERNEL_LZ4=y|an LZ4 bzImage: init_size decides the guest's minimum memory"
  "RELOCATABLE=y|the loader may place the kernel at its preferred address"
  "PHYSICAL_START=0x1000000|the kernel runs at 16 MiB"
  "SERIAL_8250=y|the console is COM1, built in"
  "SERIAL_8250_CONSOLE=y|console=ttyS0 works from the first line"
  "BLK_DEV_INITRD=y|the root file system is the initramfs"
  "RD_GZIP=y|the initramfs is gzip-compressed"
  "DEVTMPFS=y|/init mounts devtmpfs"
  "TMPFS=y|/init mounts a tmpfs on /tmp"
)

die() { echo "guest-linux: $*" >&2; exit 1; }
rel() { echo "${1#"$ROOT"/}"; }   # a path as shown: relative to the repository

# The versioned package the meta package depends on, as the archive offers it now.
resolve_abi() {
  local dep
  dep=$(apt-cache depends "$META_PACKAGE" 2>/dev/null \
        | grep -o "linux-image-[0-9][^ ]*-$FLAVOUR" | head -n 1) || true
  [ -n "$dep" ] || die "apt knows no $META_PACKAGE (run apt-get update; is deb.debian.org bookworm in apt's sources?)"
  dep=${dep#linux-image-}
  echo "${dep%-"$FLAVOUR"}"
}

download_and_unpack() {   # download_and_unpack PACKAGE DESTDIR
  local pkg=$1 dest=$2 tmp
  tmp=$(mktemp -d)
  chmod 755 "$tmp"   # apt's download user must be able to write there
  if ! (cd "$tmp" && apt-get download -q "$pkg" >/dev/null 2>"$tmp/apt.err"); then
    cat "$tmp/apt.err" >&2
    rm -rf "$tmp"
    die "apt-get download $pkg failed"
  fi
  rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
  dpkg-deb -x "$tmp"/*.deb "$dest.tmp"
  rm -rf "$tmp" "$dest" && mv "$dest.tmp" "$dest"
  echo "guest-linux: unpacked $pkg into $(rel "$dest")"
}

# The value of CONFIG_NAME in the kernel's config: y, m, a string, or n when not set.
config_value() {
  local line
  line=$(grep -E "^(CONFIG_$1=|# CONFIG_$1 is not set)" "$KERNEL_ROOT/boot/config-$RELEASE" || true)
  case "$line" in
    "CONFIG_$1="*) echo "${line#"CONFIG_$1="}" ;;
    *) echo n ;;
  esac
}

check_config_facts() {
  local fact name want reason got failed=0
  for fact in "${CONFIG_FACTS[@]}"; do
    name=${fact%%=*}; want=${fact#*=}; want=${want%%|*}; reason=${fact#*|}
    got=$(config_value "$name")
    if [ "$got" != "$want" ]; then
      echo "guest-linux: CONFIG_$name is $got, the platform expects $want ($reason)" >&2
      failed=1
    fi
  done
  [ $failed -eq 0 ] || die "the kernel's config moved; see docs/linux-guest.md before changing the platform"
}

# A little-endian field of the bzImage: le FILE OFFSET BYTES.
le() { od -An -tu"$3" -j "$2" -N "$3" "$1" | tr -d ' '; }

check_boot_header() {
  local image=$KERNEL_ROOT/boot/vmlinuz-$RELEASE version xloadflags pref init_size
  [ -f "$image" ] || die "the package has no boot/vmlinuz-$RELEASE"
  [ "$(dd if="$image" bs=1 skip=$((0x202)) count=4 2>/dev/null)" = "HdrS" ] \
    || die "boot/vmlinuz-$RELEASE has no Linux boot header (HdrS)"
  version=$(le "$image" $((0x206)) 2)
  [ "$version" -ge $((0x20c)) ] || die "boot protocol $(printf %x "$version") is older than 2.12 (no 64-bit entry)"
  xloadflags=$(le "$image" $((0x236)) 2)
  [ $((xloadflags & 1)) -eq 1 ] || die "the kernel has no 64-bit entry point (XLF_KERNEL_64)"
  pref=$(le "$image" $((0x258)) 8)
  init_size=$(le "$image" $((0x260)) 4)
  echo "guest-linux: boot protocol $(printf %x "$version"), loads at $(printf %#x "$pref")," \
       "needs $(( (pref + init_size + (1 << 20) - 1) >> 20 )) MiB below the initramfs"
}

# The module's own dependency list, from its .modinfo section (no modules.dep is shipped:
# depmod runs when the package is installed).
module_path() { find "$KERNEL_ROOT/lib/modules/$RELEASE/kernel" -name "$1.ko" | head -n 1; }
module_depends() {
  objcopy -O binary --only-section=.modinfo "$1" /dev/stdout | tr '\0' '\n' \
    | sed -n 's/^depends=//p' | tr ',' ' '
}

# Prints the wanted modules and their dependencies, each after what it depends on.
module_load_order() {
  local -A done_=()
  local order=()
  visit() {
    local m=$1 path d
    [ -n "${done_[$m]:-}" ] && return 0
    done_[$m]=visiting
    path=$(module_path "$m")
    [ -n "$path" ] || die "module $m is not in the package (kernel/.../$m.ko)"
    for d in $(module_depends "$path"); do
      [ "${done_[$d]:-}" = visiting ] && die "modules $m and $d depend on each other"
      visit "$d"
    done
    done_[$m]=yes
    order+=("$m")
  }
  for m in $WANTED_MODULES; do visit "$m"; done
  echo "${order[@]}"
}

fetch() {
  local offered
  offered=$(resolve_abi)
  local moved=""
  if [ "$offered" != "$LINUX_ABI" ]; then
    # The pinned package often stays in the archive for a while after the meta-package
    # moves on: use it while it is there, and say that the pin is getting old.
    moved="the archive's $META_PACKAGE now depends on linux-image-$offered-$FLAVOUR, but Ferry is"
    moved+=" pinned to ABI $LINUX_ABI. Try it with FERRY_LINUX_ABI=$offered (the facts are checked"
    moved+=" again), then update LINUX_ABI in scripts/guest-linux.sh and docs/linux-guest.md."
    echo "guest-linux: warning: $moved" >&2
  fi
  mkdir -p "$DEPS"
  if [ ! -f "$KERNEL_ROOT/boot/vmlinuz-$RELEASE" ] \
     && ! (download_and_unpack "linux-image-$RELEASE" "$KERNEL_ROOT"); then
    die "linux-image-$RELEASE cannot be downloaded any more. ${moved}"
  fi
  [ -x "$BUSYBOX_ROOT/bin/busybox" ] || download_and_unpack busybox-static "$BUSYBOX_ROOT"
  check_config_facts
  check_boot_header
  local order
  order=$(module_load_order)
  echo "guest-linux: modules in load order: $order"
}

build() {
  local image=$KERNEL_ROOT/boot/vmlinuz-$RELEASE spec modules m
  if [ ! -f "$image" ] || [ ! -x "$BUSYBOX_ROOT/bin/busybox" ]; then
    die "nothing fetched yet in $(rel "$DEPS"): run scripts/guest-linux.sh fetch"
  fi
  modules=$(module_load_order)
  mkdir -p "$GUESTS"
  spec=$(mktemp)
  echo "$modules" | tr ' ' '\n' > "$spec.modules"
  {
    echo "dir /bin 755"
    echo "dir /dev 755"
    echo "nod /dev/console 600 c 5 1"
    echo "nod /dev/null 666 c 1 3"
    echo "dir /etc 755"
    echo "dir /lib 755"
    echo "dir /lib/modules 755"
    echo "dir /proc 755"
    echo "dir /root 700"
    echo "dir /sbin 755"
    echo "dir /sys 755"
    echo "dir /tmp 1777"
    echo "dir /usr 755"
    echo "dir /usr/bin 755"
    echo "dir /usr/sbin 755"
    echo "file /bin/busybox 755 $BUSYBOX_ROOT/bin/busybox"
    echo "slink /bin/sh 777 busybox"
    echo "file /init 755 $ROOT/tests/guests/linux/init"
    echo "file /etc/ferry-modules 644 $spec.modules"
    for m in $modules; do
      echo "file /lib/modules/$m.ko 644 $(module_path "$m")"
    done
  } > "$spec"
  python3 "$ROOT/scripts/mkcpio.py" "$spec" "$GUESTS/initramfs.cpio.gz.tmp"
  rm -f "$spec" "$spec.modules"
  mv "$GUESTS/initramfs.cpio.gz.tmp" "$GUESTS/initramfs.cpio.gz"
  cp "$image" "$GUESTS/vmlinuz.tmp" && mv "$GUESTS/vmlinuz.tmp" "$GUESTS/vmlinuz"
  echo "guest-linux: $(rel "$GUESTS")/vmlinuz ($(stat -c %s "$GUESTS/vmlinuz") bytes)," \
       "$(rel "$GUESTS")/initramfs.cpio.gz ($(stat -c %s "$GUESTS/initramfs.cpio.gz") bytes)"
}

case "${1:-all}" in
  fetch) fetch ;;
  build) build ;;
  all) fetch; build ;;
  *) die "usage: scripts/guest-linux.sh [fetch|build|all]" ;;
esac
