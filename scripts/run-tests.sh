#!/usr/bin/env bash
# run-tests.sh: set up, build and run porta's whole test suite, twice:
#   1. a -Werror build (build-test/), every test on every device found;
#   2. an AddressSanitizer + UndefinedBehaviorSanitizer build (build-asan/),
#      the same tests again.
# The Vulkan validation layer is on in both runs; any message fails a test.
# Options: --no-sanitize skips the second run. Extra ctest arguments may
# follow "--" (e.g. -- -L fast).
set -euo pipefail
cd "$(dirname "$0")/.."

sanitize=1
ctest_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-sanitize) sanitize=0 ;;
    --) shift; ctest_args=("$@"); break ;;
    *) echo "usage: scripts/run-tests.sh [--no-sanitize] [-- CTEST-ARGS]" >&2; exit 2 ;;
  esac
  shift
done

scripts/setup-debian.sh
jobs=$(nproc)

run() { # name, cmake flags...
  local dir=$1; shift
  echo "== $dir: configure and build"
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPORTA_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j"$jobs" >/dev/null
  echo "== $dir: tests"
  (cd "$dir" && ctest --output-on-failure -j"$jobs" ${ctest_args[@]+"${ctest_args[@]}"})
}

run build-test
if [ "$sanitize" = 1 ]; then
  run build-asan -DPORTA_SANITIZE=ON
fi
