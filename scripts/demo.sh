#!/usr/bin/env bash
# Ferry's demo: installs what is missing, builds, then boots two Ferry hosts under Bochs
# (which emulates VT-x with EPT), or with --cpu amd under QEMU with AMD-V, and
# live-migrates a running guest from one to the other.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
make -s esp
exec /usr/bin/python3 scripts/demo.py "$@"
