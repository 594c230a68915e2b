#!/usr/bin/env bash
# test_help.sh: every program and subcommand answers --help and -h with its
# usage on stdout and exit status 0, and a usage error with exit status 2
# and a message on stderr.
#
#   test_help.sh PORTA_INFO PORTA_TRAIN PORTA_SAMPLE PORTA_BENCH PORTA_GREEDYLR PORTA_CHECK
set -u
[ $# -eq 6 ] || { echo "usage: test_help.sh INFO TRAIN SAMPLE BENCH GREEDYLR CHECK" >&2; exit 2; }
info=$1 train=$2 sample=$3 bench=$4 greedylr=$5 check=$6
passed=0 failed=0
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT

# program [subcommand...]: --help and -h
help_ok() {
  for flag in --help -h; do
    "$@" "$flag" >"$out" 2>"$err"
    rc=$?
    if [ $rc -eq 0 ] && grep -qi "usage" "$out" && [ ! -s "$err" ]; then
      passed=$((passed + 1))
    else
      echo "FAIL $(basename "$1") ${*:2} $flag: exit $rc, stdout $(head -c 80 "$out"), stderr $(head -c 120 "$err")"
      failed=$((failed + 1))
    fi
  done
}
# program args...: a usage error
usage_error() {
  "$@" >"$out" 2>"$err"
  rc=$?
  if [ $rc -eq 2 ] && [ -s "$err" ]; then
    passed=$((passed + 1))
  else
    echo "FAIL $(basename "$1") ${*:2}: exit $rc (want 2 with a message on stderr)"
    failed=$((failed + 1))
  fi
}

help_ok "$info"
help_ok "$info" --json
help_ok "$train"
help_ok "$train" vision
help_ok "$train" text
help_ok "$sample"
help_ok "$bench"
for sub in optimizer gemm train; do
  help_ok "$bench" "$sub"
done
help_ok "$greedylr"
help_ok "$greedylr" replay
help_ok "$check"

"$info" --version >"$out" 2>"$err"
if [ $? -eq 0 ] && grep -q "^porta-info [0-9]*\.[0-9]*\.[0-9]* (library" "$out"; then
  passed=$((passed + 1))
else
  echo "FAIL porta-info --version: $(cat "$out" "$err")"
  failed=$((failed + 1))
fi

"$check" --version >"$out" 2>"$err"
if [ $? -eq 0 ] && grep -q "^porta-check [0-9]*\.[0-9]*\.[0-9]* (library" "$out"; then
  passed=$((passed + 1))
else
  echo "FAIL porta-check --version: $(cat "$out" "$err")"
  failed=$((failed + 1))
fi

usage_error "$info" --no-such-option
usage_error "$train" --no-such-option
usage_error "$train" vision --no-such-option
usage_error "$sample" --no-such-option
usage_error "$bench" no-such-benchmark
usage_error "$greedylr" replay --no-such-option
usage_error "$check" --no-such-option
usage_error "$check" --json --markdown
usage_error "$check" --device
usage_error "$check" --only kernels.no_such_check

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
