#!/usr/bin/env bash
# Ferry's demo: installs what is missing, builds, then boots Ferry under Bochs (which
# emulates VT-x with EPT) and shows its console. Grows into the live-migration demo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
make -s esp
exec /usr/bin/python3 scripts/demo.py "$@"
