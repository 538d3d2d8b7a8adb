#!/usr/bin/env bash
# Ferry's test command: installs what is missing, builds, and runs the whole suite
# (host unit tests, then the emulator tests under QEMU and Bochs). Extra arguments
# go to pytest, e.g. `scripts/test.sh -m "not bochs"` or `scripts/test.sh -k boot`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
make -s esp unit
exec /usr/bin/python3 -m pytest -v -rs -p no:cacheprovider tests "$@"
