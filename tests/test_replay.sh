#!/usr/bin/env bash
# test_replay: porta-greedylr replay runs the fused device kernel and agrees
# with the host implementation; bad input is a clear error with status 2.
#   test_replay.sh PORTA_GREEDYLR PORTA_INFO
set -u
# Under the sanitizer build the preload is given as PORTA_CHILD_PRELOAD so
# that it reaches porta's programs but not bash, awk and sort.
run() { LD_PRELOAD="${PORTA_CHILD_PRELOAD:-}" "$@"; }
replay=(run "$1")
info=(run "$2")
passed=0
failed=0
check() { # description, condition exit status
  if [ "$2" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $1"; fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# docs/GREEDYLR.md scenario 1 on the host: 5, 10, 10, 10, 10 -> 0.1 x4, then 0.09.
printf '5\n10\n10\n10\n10\n' >"$tmp/s1"
"${replay[@]}" replay --host --lr 0.1 --factor 0.9 --patience 3 --min-lr 1e-6 <"$tmp/s1" >"$tmp/s1.out"
check "scenario 1 runs" $?
[ "$(tail -n 1 "$tmp/s1.out")" = "0.0899999961" ] && [ "$(wc -l <"$tmp/s1.out")" -eq 5 ]
check "scenario 1 on the host: $(tr '\n' ' ' <"$tmp/s1.out")" $?

# A noisy, improving then stalling loss log with a NaN, smoothed.
awk 'BEGIN { srand(7); for (i = 0; i < 1500; i++) {
  if (i == 700) print "nan"; else printf "%.6f\n", 3 * exp(-i / 300) + 0.2 * rand() } }' >"$tmp/loss"
opts=(--lr 0.05 --factor 0.9 --patience 4 --min-lr 1e-4 --smooth --window 16 --cooldown 2)
"${replay[@]}" replay --host "${opts[@]}" <"$tmp/loss" >"$tmp/host.out"
check "host replay" $?
[ "$(sort -u "$tmp/host.out" | wc -l)" -gt 5 ]
check "the host replay changed the rate more than 5 times" $?

# Every device must give the host's rates, bit for bit in the printed form.
devices=$("${info[@]}" --json --no-selftest | sed -n 's/.*"api": "\([a-z]*\)", "index": \([0-9]*\).*/\1:\2/p')
[ -n "$devices" ]
check "devices found" $?
for d in $devices; do
  "${replay[@]}" replay --device "$d" "${opts[@]}" <"$tmp/loss" >"$tmp/$d.out" 2>"$tmp/$d.err"
  check "$d: replay runs ($(tail -n 3 "$tmp/$d.err"))" $?
  cmp -s "$tmp/$d.out" "$tmp/host.out"
  check "$d: device rates equal the host's" $?
done

# Bad input: exit status 2 and a message saying what is wrong.
printf '1\n2\nabc\n' | "${replay[@]}" replay --host >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q 'line 3' "$tmp/err"
check "malformed line: status 2 naming the line" $?
"${replay[@]}" replay --host --factor 1.5 </dev/null >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q 'factor' "$tmp/err"
check "factor 1.5: status 2 naming the factor" $?
"${replay[@]}" replay --host --mode sideways </dev/null >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q 'mode' "$tmp/err"
check "unknown mode: status 2" $?
"${replay[@]}" replay --host --patience x </dev/null >/dev/null 2>"$tmp/err"
[ $? -eq 2 ]
check "non-numeric patience: status 2" $?
"${replay[@]}" replay --bogus </dev/null >/dev/null 2>&1
[ $? -eq 2 ]
check "unknown option: status 2" $?

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
