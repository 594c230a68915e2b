#!/usr/bin/env bash
# check-install.sh: porta as a library people install and link, checked
# from a shared build (BUILD_SHARED_LIBS=ON) of this tree:
#   1. `cmake --install` into a scratch prefix, and the list of what it put there;
#   2. libporta.so: SONAME libporta.so.MAJOR, and only porta_* symbols exported;
#   3. examples/ built against the prefix with find_package(porta), and run on
#      PoCL and lavapipe (the MLP's loss must fall and its accuracy be printed);
#   4. an example built with nothing but `pkg-config --cflags --libs porta`;
#   5. a static porta built and installed, and the examples built against it;
#   6. examples/subproject, which pulls porta in with add_subdirectory;
#   7. the reference documentation: Doxygen over the public headers, no warning;
#   8. `cpack -G DEB`: the packages, with their dependencies.
#
#   scripts/check-install.sh BUILD_DIR [WORK_DIR]
#
# WORK_DIR (default BUILD_DIR/install-check) is emptied first. Prints a
# summary line per step; any failure stops with a message and exit 1.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)
[ $# -ge 1 ] || { echo "usage: scripts/check-install.sh BUILD_DIR [WORK_DIR]" >&2; exit 2; }
build=$(cd "$1" && pwd)
work=${2:-$build/install-check}
jobs=$(nproc)
rm -rf "$work"
mkdir -p "$work"

fail() { echo "check-install: $*" >&2; exit 1; }
step() { echo "== check-install: $*"; }

# The examples' own programs, run on a device: train_mlp (its loss must
# fall, its accuracy be printed) and custom_graph (the reloaded graph must
# evaluate identically; it exits 1 otherwise).
run_examples() { # dir device steps
  local dir=$1 device=$2 steps=$3 out
  out=$("$dir/train_mlp" --device "$device" --steps "$steps") || fail "train_mlp on $device: $out"
  echo "$out" | sed 's/^/    /'
  echo "$out" | awk '/^step/ { if (first == "") first = $4; last = $4 }
                      /test accuracy/ { acc = 1 }
                      END { exit !(acc && first != "" && last < first) }' ||
    fail "train_mlp on $device: the loss did not fall or no accuracy was printed"
  "$dir/custom_graph" --device "$device" --out "$work/custom_graph.safetensors" | sed 's/^/    /' ||
    fail "custom_graph on $device"
}

# ---- 1. install ------------------------------------------------------------
step "cmake --install $build --prefix $work/prefix"
cmake --install "$build" --prefix "$work/prefix" >/dev/null
(cd "$work/prefix" && find . \( -type f -o -type l \) | sort | sed 's|^\./|    |')
libdir=$(dirname "$(find "$work/prefix" -name 'libporta.so' | head -n 1)")
[ -n "$libdir" ] && [ -d "$libdir" ] || fail "no libporta.so installed (is $build a shared build?)"
[ -f "$libdir/cmake/porta/porta-config.cmake" ] || fail "no porta-config.cmake in $libdir/cmake/porta"
[ -f "$libdir/cmake/porta/porta-config-version.cmake" ] || fail "no porta-config-version.cmake"
[ -f "$libdir/pkgconfig/porta.pc" ] || fail "no porta.pc in $libdir/pkgconfig"
if grep -rqF "$src" "$libdir/cmake/porta" "$libdir/pkgconfig"; then
  fail "the installed package files name the source tree $src"
fi
if grep -rqF "$build" "$libdir/cmake/porta" "$libdir/pkgconfig"; then
  fail "the installed package files name the build tree $build"
fi
[ -f "$work/prefix/include/porta/check.h" ] || fail "no porta/check.h installed"
# The installed porta-check runs the library's own checks through the
# installed shared library (its relative run path), on PoCL.
step "the installed porta-check on PoCL"
out=$("$work/prefix/bin/porta-check" --quick --device pocl --only kernels.vec,greedylr.scenarios \
  --no-probes 2>&1) || fail "porta-check: $out"
echo "$out" | sed 's/^/    /'

# ---- 2. the shared library's interface ---------------------------------------
step "libporta.so: SONAME and exported symbols"
for lib in libporta libporta_train; do
  so=$(readlink -f "$libdir/$lib.so")
  soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
  [ "$soname" = "$lib.so.0" ] || fail "$lib SONAME is '$soname', expected $lib.so.0"
  exported=$(nm -D --defined-only "$so" | awk '{print $3}' | sort)
  others=$(echo "$exported" | grep -v '^porta_' || true)
  [ -z "$others" ] || fail "$lib exports symbols outside porta_*: $(echo $others)"
  internal=$(echo "$exported" | grep -E '^(porta__|porta_ref)' || true)
  [ -z "$internal" ] || fail "$lib exports internal symbols: $(echo $internal)"
  echo "    $(basename "$so"): SONAME $soname, $(echo "$exported" | wc -l) symbols, all porta_*"
done

# ---- 3. the examples with find_package(porta) --------------------------------
step "examples/ with find_package(porta) against the prefix"
cmake -S examples -B "$work/examples" -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/examples" -j"$jobs" >/dev/null
"$work/examples/greedylr_host" | tail -n 3 | sed 's/^/    /'
"$work/examples/list_devices" | sed 's/^/    /'
for device in pocl lavapipe; do
  echo "  -- on $device"
  run_examples "$work/examples" "$device" 300
done

# ---- 4. pkg-config only -------------------------------------------------------
step "greedylr_host with pkg-config --cflags --libs porta"
flags=$(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs porta)
echo "    cc -std=c11 examples/greedylr_host.c $flags -lm"
# shellcheck disable=SC2086
cc -std=c11 -Wall -Wextra -Werror examples/greedylr_host.c $flags -lm -o "$work/greedylr_pc"
LD_LIBRARY_PATH="$libdir" "$work/greedylr_pc" | tail -n 1 | sed 's/^/    /'

# ---- 5. a static porta ----------------------------------------------------------
step "a static porta: install, find_package (dependencies found again), pkg-config --static"
cmake -S . -B "$work/build-static" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
  -DPORTA_WERROR=ON -DPORTA_BUILD_APPS=OFF -DPORTA_BUILD_TESTS=OFF -DPORTA_BUILD_EXAMPLES=OFF \
  >/dev/null
cmake --build "$work/build-static" -j"$jobs" >/dev/null
cmake --install "$work/build-static" --prefix "$work/static" >/dev/null
[ -z "$(find "$work/static" -name '*.so*')" ] || fail "the static install holds shared libraries"
cmake -S examples -B "$work/examples-static" -DCMAKE_PREFIX_PATH="$work/static" \
  -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/examples-static" -j"$jobs" >/dev/null
if ldd "$work/examples-static/custom_graph" | grep -q libporta; then
  fail "custom_graph built against the static install links a shared libporta"
fi
"$work/examples-static/custom_graph" --device pocl --out "$work/static.safetensors" |
  sed 's/^/    /'
static_libdir=$(dirname "$(find "$work/static" -name 'libporta.a' | head -n 1)")
flags=$(PKG_CONFIG_PATH="$static_libdir/pkgconfig" pkg-config --static --cflags --libs porta)
echo "    cc -std=c11 examples/greedylr_host.c $flags"
# shellcheck disable=SC2086
cc -std=c11 -Wall -Wextra -Werror examples/greedylr_host.c $flags -o "$work/greedylr_static"
"$work/greedylr_static" | tail -n 1 | sed 's/^/    /'

# ---- 6. add_subdirectory -------------------------------------------------------------
step "examples/subproject: porta pulled in with add_subdirectory"
cmake -S examples/subproject -B "$work/subproject" -DPORTA_SOURCE="$src" -DPORTA_WERROR=ON \
  -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/subproject" -j"$jobs" >/dev/null
for t in porta-info porta-train test_optimizer train_mlp; do
  if find "$work/subproject" -name "$t" -type f | grep -q .; then
    fail "the subproject build made $t: porta built more than its libraries"
  fi
done
"$work/subproject/consumer" | sed 's/^/    /'

# ---- 7. reference documentation ---------------------------------------------------------
step "Doxygen over the public headers"
if command -v doxygen >/dev/null; then
  cmake --build "$build" --target docs >/dev/null
  [ ! -s "$build/docs/warnings.log" ] || fail "doxygen warned: $(cat "$build/docs/warnings.log")"
  echo "    $build/docs/html/index.html, 0 warnings"
else
  fail "doxygen is not installed (scripts/setup-debian.sh installs it)"
fi

# ---- 8. Debian packages ----------------------------------------------------------------------
step "cpack -G DEB"
rm -rf "$build/packages"
(cd "$build" && cpack -G DEB >/dev/null)
for deb in "$build"/packages/*.deb; do
  echo "    $(basename "$deb"): Depends: $(dpkg-deb -f "$deb" Depends)"
done
[ "$(ls "$build"/packages/*.deb | wc -l)" = 3 ] || fail "expected three packages"
echo "check-install: all passed"
