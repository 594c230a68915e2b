#!/usr/bin/env bash
# run-demo.sh: set up, build and run porta's main demo on the default device.
# (Until the training apps land, the demo is porta-info: every device, with
# a self-test.) Extra arguments go to the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
exec build/apps/porta-info "$@"
