#!/usr/bin/env bash
# setup-debian.sh: install from Debian's archive everything porta's build,
# tests and demos need. Idempotent; prints nothing when all is installed.
#
#   scripts/setup-debian.sh          install what is missing (uses sudo if not root)
#   scripts/setup-debian.sh --check  only report what is missing (exit 1 if any)
#   scripts/setup-debian.sh --optional [--check]  also CLBlast and OpenBLAS, which
#                                    porta-bench gemm compares with, and PyTorch
#                                    (python3-torch, CPU), which porta-bench train
#                                    compares with, when present
#
# Last step: the plain-text King James Bible for the GPT demo, written once to
#   $PORTA_KJV_TEXT, default ${XDG_CACHE_HOME:-$HOME/.cache}/porta/kjv.txt
# (`bible -f` from bible-kjv with the verse references stripped: one verse a
# line, 31102 lines, about 4.1 MB, well under a second). An existing file is
# left alone; delete it to rebuild.
set -euo pipefail

kjv_text="${PORTA_KJV_TEXT:-${XDG_CACHE_HOME:-$HOME/.cache}/porta/kjv.txt}"

packages=(
  # build; doxygen for the reference documentation, file for cpack's
  # Debian packages
  build-essential cmake pkg-config doxygen file
  # kernels: GLSL -> SPIR-V, validation; SPIR-V -> MSL and HLSL, and
  # clang-14's OpenCL C front end, for the kernels.translation test
  # (scripts/check-translation.sh)
  glslc spirv-tools spirv-cross clang-14
  # Vulkan: loader + headers, lavapipe (CPU), validation layers, vulkaninfo
  libvulkan-dev mesa-vulkan-drivers vulkan-validationlayers vulkan-tools
  # OpenCL: ICD loader + headers, PoCL (CPU), Rusticl/Clover (Mesa), clinfo
  ocl-icd-opencl-dev opencl-headers pocl-opencl-icd mesa-opencl-icd clinfo
  # data: gzip'd IDX files, the Fashion-MNIST dataset, the King James Bible
  zlib1g-dev dataset-fashion-mnist bible-kjv
)

# Optional: comparisons in porta-bench gemm (CMake finds them if present)
# and porta-bench train (python3 -c 'import torch'); nothing fails without
# them. Installed only with --optional.
optional=(libclblast-dev libopenblas-dev python3-torch)
if [ "${1:-}" = "--optional" ]; then
  packages+=("${optional[@]}")
  shift
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${1:-}" = "--check" ]; then
  [ -s "$kjv_text" ] || missing+=("kjv-text:$kjv_text")
  if [ ${#missing[@]} -gt 0 ]; then
    echo "missing: ${missing[*]}"
    exit 1
  fi
  exit 0
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "porta setup: installing ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "porta setup: done"
fi

# The King James text: "Ge1:1 In the beginning..." -> "In the beginning...".
# Written beside the target and renamed, so an interrupted run leaves no
# half file that a later run would take for complete.
if [ ! -s "$kjv_text" ]; then
  echo "porta setup: writing $kjv_text"
  mkdir -p "$(dirname "$kjv_text")"
  tmp="$kjv_text.tmp.$$"
  bible -f Gen1:1-Rev22:21 | sed -E 's/^[1-3]?[A-Za-z]+[0-9]+:[0-9]+ //' >"$tmp"
  if [ "$(wc -l <"$tmp")" -ne 31102 ] || grep -qE '^[1-3]?[A-Za-z]+[0-9]+:[0-9]+ ' "$tmp"; then
    rm -f "$tmp"
    echo "porta setup: bible -f gave unexpected output; $kjv_text not written" >&2
    exit 1
  fi
  mv "$tmp" "$kjv_text"
fi
