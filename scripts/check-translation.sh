#!/usr/bin/env bash
# check-translation.sh: every kernel the build made, put through the
# translators that real drivers put it through and that we cannot run
# ourselves, so a kernel that one of them rejects is found here and not on
# a user's machine:
#   msl    NAME.spv -> Metal Shading Language with spirv-cross, as MoltenVK
#          does; also that the workgroup size is still specialisation
#          constant 0 (MoltenVK reads the threadgroup size from it);
#   hlsl   NAME.spv -> HLSL, shader model 5.0, with spirv-cross, as
#          SPIR-V-to-Direct3D paths do;
#   cl1.2  NAME.cl with clang's OpenCL C 1.2 front end,
#   cl3.0  and with its OpenCL C 3.0 one (drivers' compilers range from 1.2
#          to 3.0), each with the -D options porta passes at run time
#          (backends/opencl/opencl_program.c) for several local sizes.
#
#   scripts/check-translation.sh [--strict] [--keep DIR] KERNEL_DIR
#
# KERNEL_DIR is the build's kernels/ (PORTA_KERNEL_DIR). --keep DIR writes
# the translations (NAME.metal, NAME.hlsl, NAME.json) there, to be read;
# otherwise they go to a scratch directory that is removed. Prints one line
# per kernel per target: ok, FAIL with the translator's first error lines,
# or WARN where the MSL came out but is known to go wrong in Metal (an array
# sized by a specialisation constant: see msl_questions); --strict counts a
# WARN as a failure. Then a summary. Exit 1 on any failure, 77 (CTest's
# skip code) when spirv-cross or clang-14 is missing, 2 on bad usage.
# SPIRV_CROSS and CLANG in the environment name other binaries.
set -euo pipefail

usage() { echo "usage: scripts/check-translation.sh [--strict] [--keep DIR] KERNEL_DIR" >&2; exit 2; }
strict=0
keep=""
while [ $# -gt 0 ]; do
  case "$1" in
    --strict) strict=1 ;;
    --keep) [ $# -ge 2 ] || usage; keep=$2; shift ;;
    -*) usage ;;
    *) break ;;
  esac
  shift
done
[ $# -eq 1 ] || usage
[ -d "$1" ] || { echo "check-translation: $1 is not a directory" >&2; exit 2; }
kdir=$(cd "$1" && pwd)
if [ -n "$keep" ]; then
  mkdir -p "$keep"
  keep=$(cd "$keep" && pwd)
fi
spirv_cross=${SPIRV_CROSS:-spirv-cross}
clang=${CLANG:-clang-14}

shopt -s nullglob
cd "$kdir"
spvs=(*.spv)
cls=(*.cl)
if [ ${#spvs[@]} -eq 0 ] && [ ${#cls[@]} -eq 0 ]; then
  echo "check-translation: no *.spv or *.cl in $kdir (build the porta_kernels target first)" >&2
  exit 1
fi
missing=()
if [ ${#spvs[@]} -gt 0 ] && ! command -v "$spirv_cross" >/dev/null; then
  missing+=("$spirv_cross (Debian package spirv-cross)")
fi
if [ ${#cls[@]} -gt 0 ] && ! command -v "$clang" >/dev/null; then
  missing+=("$clang (Debian package clang-14)")
fi
if [ ${#missing[@]} -gt 0 ]; then
  printf -v missing_list '%s, ' "${missing[@]}"
  echo "check-translation: skipped, not installed: ${missing_list%, } (scripts/setup-debian.sh installs them)"
  exit 77
fi
if [ ${#spvs[@]} -eq 0 ]; then
  echo "check-translation: no SPIR-V in $kdir (built without the Vulkan backend): OpenCL C only"
fi

if [ -n "$keep" ]; then
  out=$keep
  scratch=""
else
  scratch=$(mktemp -d /tmp/porta-translation.XXXXXX)
  out=$scratch
fi
cleanup() { if [ -n "$scratch" ]; then rm -rf "$scratch"; fi; }
trap cleanup EXIT
err=$out/stderr.txt

# MSL 2.1 (macOS 10.14, iOS 12): older than any Metal that current MoltenVK
# runs on (macOS 11+, MSL 2.3 and up), so what translates here translates
# for all of them; a lower version can only make spirv-cross refuse more.
# Not below 1.2: MSL 1.1 has no function constants, and spirv-cross then
# freezes every specialisation constant at its SPIR-V default. (From 1.2 to
# 3.0 spirv-cross 2021.01.15 writes the same MSL for every kernel.)
msl_args=(--msl --msl-version 20100)
# Shader model 5.0 (Direct3D 11, fxc's cs_5_0): the oldest whose compute
# shaders take several read-write buffers (UAVs) and interlocked adds, as
# our kernels do; cs_4_x has one UAV and no atomics. (spirv-cross does not
# refuse 4.0 itself, so the model is chosen here, not tested for.)
hlsl_args=(--hlsl --shader-model 50)
# clang's OpenCL front end for a SPIR target (no host type sizes or
# extensions), the default header of builtins, no optional extension or
# OpenCL 3.0 optional feature (fp64, generic address space, program-scope
# globals, subgroups...), every warning an error. Codegen to LLVM IR, not
# just a syntax check, so what only fails when lowered fails here too.
cl_args=(-x cl -target spir64 -Xclang -finclude-default-header -Xclang -cl-ext=-all
  -Wall -Werror -c -emit-llvm -o /dev/null)
# What porta passes (format_options in backends/opencl/opencl_program.c):
# -cl-std, -cl-fp32-correctly-rounded-divide-sqrt where the device offers
# it, PORTA_LOCAL_SIZE and PORTA_SPEC0..3. Local sizes: 64 (GEMM), 256 (the
# default), 1 (a device that allows no more; LOCAL_SIZE / 2u is 0 there)
# and 2048 (PORTA_STREAM_BLOCK_MAX, the largest porta asks for). SPEC
# values 1, the default: each kernel gives them its own meaning, and 0 is
# only ever passed for flags (as a divisor, in conv2d_filter_rows and gemm,
# it is a -Wdivision-by-zero error that porta never asks for).
spec1="-DPORTA_SPEC0=1 -DPORTA_SPEC1=1 -DPORTA_SPEC2=1 -DPORTA_SPEC3=1"
cl_variants=(
  "-DPORTA_LOCAL_SIZE=64 $spec1"
  "-cl-fp32-correctly-rounded-divide-sqrt -DPORTA_LOCAL_SIZE=256 $spec1"
  "-DPORTA_LOCAL_SIZE=1 $spec1"
  "-DPORTA_LOCAL_SIZE=2048 $spec1"
)

targets=(msl hlsl cl1.2 cl3.0)
declare -A n_ok n_warn n_fail
for t in "${targets[@]}"; do
  n_ok[$t]=0
  n_warn[$t]=0
  n_fail[$t]=0
done

# first_errors FILE: the translator's first error lines, indented.
first_errors() {
  local lines
  lines=$(grep -m 3 -i -E 'error|exception|fail' "$1" || true)
  [ -n "$lines" ] || lines=$(head -n 3 "$1")
  [ -n "$lines" ] || lines="(no message; exit status $2)"
  printf '%s\n' "$lines" | sed 's/^/        /'
}

report() { # status target name [detail]
  printf '%-4s  %-5s  %s%s\n' "$1" "$2" "$3" "${4:+  $4}"
  case "$1" in
    ok) n_ok[$2]=$((n_ok[$2] + 1)) ;;
    WARN) n_warn[$2]=$((n_warn[$2] + 1)) ;;
    FAIL) n_fail[$2]=$((n_fail[$2] + 1)) ;;
  esac
}

# run_tool TARGET NAME COMMAND...: COMMAND must exit 0 and print nothing on
# stderr (as compile_kernel.cmake holds glslc to no warning); otherwise a
# FAIL line with the first error lines, and status 1.
run_tool() {
  local target=$1 name=$2 rc=0
  shift 2
  "$@" 2>"$err" || rc=$?
  if [ $rc -ne 0 ] || [ -s "$err" ]; then
    report FAIL "$target" "$name" "(exit $rc): $*"
    first_errors "$err" $rc
    return 1
  fi
}

# msl_questions NAME.metal: what spirv-cross emitted that Metal does not run
# as Vulkan would, one phrase per line:
# - a threadgroup array sized by a non-literal: the size comes from the
#   workgroup-size function constant, and Metal rejects it ("variable
#   length arrays are not supported in Metal", MoltenVK issue 1106);
# - SPIRV_CROSS_CONSTANT_ID_N macros: a specialisation constant that sizes
#   an array cannot be a Metal function constant, so spirv-cross makes it a
#   macro fixed at its SPIR-V default (1), which a pipeline's
#   specialisation never reaches unless the MSL is compiled with the macro
#   defined: SPEC(N-1) is then 1 whatever the host asked for.
msl_questions() {
  local decl size def id
  { grep -E '^[[:space:]]*threadgroup [^;(]*\[[^]0-9][^]]*\];' "$1" || true; } |
    sed -E 's/^[[:space:]]+//; s/;$//' |
    while IFS= read -r decl; do
      size=${decl##*[}
      size=${size%]*}
      def=$(sed -n -E "s/^constant [a-z0-9]+ $size = (.*);$/\\1/p" "$1" | head -n 1)
      echo "threadgroup array sized by a function constant (Metal: no variable-length arrays): $decl${def:+ with $size = $def}"
    done
  { grep -o -E 'SPIRV_CROSS_CONSTANT_ID_[0-9]+' "$1" || true; } | sort -u |
    while IFS= read -r id; do
      id=${id#SPIRV_CROSS_CONSTANT_ID_}
      if [ "$id" = 0 ]; then
        echo "the workgroup size (constant 0) sizes an array: a macro fixed at its default, 1"
      else
        echo "SPEC$((id - 1)) (constant $id) sizes an array: a macro fixed at its default, 1"
      fi
    done
}

check_msl() {
  local name=$1 questions
  run_tool msl "$name" "$spirv_cross" "$name.spv" "${msl_args[@]}" --output "$out/$name.metal" || return 0
  run_tool msl "$name" "$spirv_cross" "$name.spv" --reflect --output "$out/$name.json" || return 0
  if ! tr -d ' \t\n' <"$out/$name.json" | grep -q '"workgroup_size_is_spec_constant_id":\[true'; then
    report FAIL msl "$name" "the workgroup size is not specialisation constant 0 ($out/$name.json)"
    return 0
  fi
  questions=$(msl_questions "$out/$name.metal")
  if [ -z "$questions" ]; then
    report ok msl "$name"
  else
    report "$([ $strict = 1 ] && echo FAIL || echo WARN)" msl "$name" "${keep:+(see $out/$name.metal)}"
    printf '%s\n' "$questions" | sed 's/^/        /'
  fi
}

check_hlsl() {
  local name=$1
  run_tool hlsl "$name" "$spirv_cross" "$name.spv" "${hlsl_args[@]}" --output "$out/$name.hlsl" || return 0
  report ok hlsl "$name"
}

check_cl() { # target -cl-std name
  local target=$1 std=$2 name=$3 variant
  for variant in "${cl_variants[@]}"; do
    # shellcheck disable=SC2086 # the variant is a list of options
    run_tool "$target" "$name" "$clang" "${cl_args[@]}" "-cl-std=$std" $variant "$name.cl" || return 0
  done
  report ok "$target" "$name"
}

started=$SECONDS
names=$(for f in "${spvs[@]}" "${cls[@]}"; do echo "${f%.*}"; done | sort -u)
n_kernels=0
for name in $names; do
  n_kernels=$((n_kernels + 1))
  if [ -f "$name.spv" ]; then
    check_msl "$name"
    check_hlsl "$name"
  fi
  if [ -f "$name.cl" ]; then
    check_cl cl1.2 CL1.2 "$name"
    check_cl cl3.0 CL3.0 "$name"
  fi
done

echo "check-translation: $n_kernels kernels in $((SECONDS - started)) s"
failed=0
warned=0
for t in "${targets[@]}"; do
  total=$((n_ok[$t] + n_warn[$t] + n_fail[$t]))
  [ $total -gt 0 ] || continue
  printf '  %-5s  %2d ok  %2d warn  %2d FAIL  of %d\n' "$t" "${n_ok[$t]}" "${n_warn[$t]}" \
    "${n_fail[$t]}" $total
  failed=$((failed + n_fail[$t]))
  warned=$((warned + n_warn[$t]))
done
if [ $failed -gt 0 ]; then
  echo "check-translation: $failed FAILED"
  exit 1
fi
if [ $warned -gt 0 ]; then
  echo "check-translation: passed with $warned warnings (--strict fails them)"
else
  echo "check-translation: all passed"
fi
