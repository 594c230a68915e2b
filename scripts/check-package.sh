#!/usr/bin/env bash
# check-package.sh: the Debian packages that `cpack -G DEB` made, installed
# with dpkg -i as a user would, and the examples built against /usr with no
# porta source or build tree in sight; then the packages are removed again.
#
#   scripts/check-package.sh PACKAGE_DIR
#
# It installs into the system, so it runs only as root and only when asked
# (CI does, on a machine of its own: .ci/run). The source tree and the build
# trees are hidden behind an empty tmpfs in a private mount namespace while
# the examples are configured, built and run, so nothing can come from them.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)
[ $# -eq 1 ] || { echo "usage: scripts/check-package.sh PACKAGE_DIR" >&2; exit 2; }
pkgdir=$(cd "$1" && pwd)
fail() { echo "check-package: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "installs packages: run as root (CI does)"
command -v unshare >/dev/null || fail "needs unshare (util-linux) to hide the source tree"
debs=("$pkgdir"/*.deb)
[ ${#debs[@]} -eq 3 ] || fail "expected the three packages of cpack -G DEB in $pkgdir"
if dpkg-query -W -f='${Status}' libporta-dev 2>/dev/null | grep -q "install ok installed"; then
  fail "libporta-dev is installed already; this check wants a machine without porta"
fi

work=$(mktemp -d /tmp/porta-package.XXXXXX)
cleanup() {
  dpkg -P porta-tools libporta-dev libporta0 >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== check-package: dpkg -i ${debs[*]##*/}"
dpkg -i "${debs[@]}" >/dev/null
for p in libporta0 libporta-dev porta-tools; do
  dpkg-query -W -f='${Status}' "$p" | grep -q "install ok installed" || fail "$p is not installed"
done
dpkg -L libporta-dev | grep -E '\.(h|cmake|pc)$|\.so$' | sed 's/^/    /'

# The examples, copied out; everything of porta's own hidden while they
# build and run.
cp -r examples "$work/examples"
hide="mount -t tmpfs porta-hidden '$src'"
echo "== check-package: examples against /usr, $src hidden"
unshare --mount --propagation private bash -euo pipefail -c "
  $hide
  [ -z \"\$(ls -A '$src')\" ]
  cmake -S '$work/examples' -B '$work/build' -DCMAKE_BUILD_TYPE=Release >/dev/null
  grep -q 'porta_DIR:PATH=/usr/' '$work/build/CMakeCache.txt'
  cmake --build '$work/build' -j$(nproc) >/dev/null
  '$work/build/greedylr_host' | tail -n 1
  '$work/build/list_devices'
  '$work/build/train_mlp' --device pocl --steps 100 | tail -n 2
  cc -std=c11 -Wall -Wextra -Werror '$work/examples/greedylr_host.c' \$(pkg-config --cflags --libs porta) -lm -o '$work/greedylr_pc'
  '$work/greedylr_pc' | tail -n 1
  porta-info --version
  porta-info --no-selftest --device pocl
" | sed 's/^/    /'
echo "check-package: all passed"
