#!/usr/bin/env bash
# run-tests.sh: set up, build and run porta's whole test suite, twice, and
# check porta as users install it:
#   1. a -Werror build of shared libraries (build-test/), every test on
#      every device found (the programs run on libporta.so);
#   2. porta installed and linked from outside (scripts/check-install.sh:
#      the install, the exported symbols, the examples with find_package and
#      pkg-config on PoCL and lavapipe, a static install, add_subdirectory,
#      Doxygen, the Debian packages);
#   3. the device tests of build-test/ again on a small GPU emulated
#      (PORTA_DEVICE_LIMITS=small-gpu: 128 MiB per buffer, 8 storage
#      buffers per kernel, 16 KiB shared memory, workgroups of 128, no
#      hand-over between workgroups), as devices we do not own would run them;
#   4. an AddressSanitizer + UndefinedBehaviorSanitizer build of static
#      libraries with the test-only hooks (build-asan/), the same tests again.
# The Vulkan validation layer is on in the test runs; any message fails a
# test. Options: --no-sanitize skips step 4, --no-install step 2,
# --no-small-gpu step 3. Extra
# ctest arguments may follow "--" (e.g. -- -L fast).
set -euo pipefail
cd "$(dirname "$0")/.."

sanitize=1
install=1
small_gpu=1
ctest_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-sanitize) sanitize=0 ;;
    --no-install) install=0 ;;
    --no-small-gpu) small_gpu=0 ;;
    --) shift; ctest_args=("$@"); break ;;
    *) echo "usage: scripts/run-tests.sh [--no-sanitize] [--no-install] [--no-small-gpu] [-- CTEST-ARGS]" >&2; exit 2 ;;
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

run build-test -DBUILD_SHARED_LIBS=ON
if [ "$install" = 1 ]; then
  scripts/check-install.sh build-test
fi
if [ "$small_gpu" = 1 ]; then
  echo "== build-test: device tests on an emulated small GPU (PORTA_DEVICE_LIMITS=small-gpu)"
  (cd build-test && PORTA_DEVICE_LIMITS=small-gpu ctest --output-on-failure -j"$jobs" -L device \
    ${ctest_args[@]+"${ctest_args[@]}"})
fi
if [ "$sanitize" = 1 ]; then
  run build-asan -DBUILD_SHARED_LIBS=OFF -DPORTA_SANITIZE=ON -DPORTA_TEST_HOOKS=ON -DPORTA_INSTALL=OFF
fi
