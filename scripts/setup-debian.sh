#!/usr/bin/env bash
# setup-debian.sh: install from Debian's archive everything porta's build,
# tests and demos need. Idempotent; prints nothing when all is installed.
#
#   scripts/setup-debian.sh          install what is missing (uses sudo if not root)
#   scripts/setup-debian.sh --check  only report what is missing (exit 1 if any)
#   scripts/setup-debian.sh --optional [--check]  also CLBlast and OpenBLAS, which
#                                    porta-bench gemm compares with when present
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config
  # kernels: GLSL -> SPIR-V, validation
  glslc spirv-tools
  # Vulkan: loader + headers, lavapipe (CPU), validation layers, vulkaninfo
  libvulkan-dev mesa-vulkan-drivers vulkan-validationlayers vulkan-tools
  # OpenCL: ICD loader + headers, PoCL (CPU), Rusticl/Clover (Mesa), clinfo
  ocl-icd-opencl-dev opencl-headers pocl-opencl-icd mesa-opencl-icd clinfo
  # data: gzip'd IDX files, the Fashion-MNIST dataset, the King James Bible
  zlib1g-dev dataset-fashion-mnist bible-kjv
)

# Optional: comparisons in porta-bench gemm (CMake finds them if present;
# nothing fails without them). Installed only with --optional.
optional=(libclblast-dev libopenblas-dev)
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
  if [ ${#missing[@]} -gt 0 ]; then
    echo "missing: ${missing[*]}"
    exit 1
  fi
  exit 0
fi

[ ${#missing[@]} -eq 0 ] && exit 0

echo "porta setup: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "porta setup: done"
