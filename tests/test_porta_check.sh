#!/usr/bin/env bash
# test_porta_check.sh: porta-check --quick --json on every device exits 0
# and writes a report with every section: the program and library
# versions, per device its info, capabilities (with the preset), every
# check passed with its cases, the training losses beside the reference's,
# the probes with numbers, and the OpenCL / Vulkan comparison where the
# same hardware has both. Exit 77 (skipped) on a machine without devices.
# $PORTA_TEST_DEVICE (a device spec) checks that device alone.
#
#   test_porta_check.sh PORTA_CHECK PORTA_INFO
set -u
# Under the sanitizer build the Mesa drivers come preloaded for porta's
# programs, not for bash and python (tests/CMakeLists.txt).
run() { LD_PRELOAD="${PORTA_CHILD_PRELOAD:-}" "$@"; }
[ $# -eq 2 ] || { echo "usage: test_porta_check.sh PORTA_CHECK PORTA_INFO" >&2; exit 2; }
check=$1 info=$2
python=/usr/bin/python3
out=$(mktemp) err=$(mktemp) devices=$(mktemp)
trap 'rm -f "$out" "$err" "$devices"' EXIT

dev=()
[ -n "${PORTA_TEST_DEVICE:-}" ] && dev=(--device "$PORTA_TEST_DEVICE")
run "$info" --json --no-selftest ${dev[@]+"${dev[@]}"} >"$devices" 2>/dev/null
count=$("$python" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["devices"]))' \
  "$devices" 2>/dev/null || echo 0)
if [ "$count" = 0 ]; then
  echo "SKIP: porta-info lists no device here"
  exit 77
fi

run "$check" --quick --json ${dev[@]+"${dev[@]}"} >"$out" 2>"$err"
rc=$?
cat "$err"
if [ $rc -ne 0 ]; then
  echo "FAIL porta-check --quick --json: exit $rc"
  exit 1
fi

"$python" - "$out" "$count" <<'EOF'
import json, sys

report = json.load(open(sys.argv[1]))
want_devices = int(sys.argv[2])
failures = []

def need(cond, what):
    if not cond:
        failures.append(what)

for key in ("program", "version", "library", "backends", "quick", "passed", "devices", "agreement"):
    need(key in report, "top-level key %s" % key)
need(report.get("program") == "porta-check", "program name")
need(report.get("quick") is True, "quick run")
need(report.get("passed") is True, "passed")
devices = [d for d in report.get("devices", []) if not d.get("training_only")]
need(len(devices) == want_devices, "%d devices checked, want %d" % (len(devices), want_devices))
groups = ("kernels.", "gradients.", "greedylr.", "training.")
for d in devices:
    spec = d.get("spec", "?")
    for key in ("api", "name", "vendor", "driver", "api_version", "max_alloc_bytes"):
        need(key in d, "%s: device key %s" % (spec, key))
    caps = d.get("capabilities") or {}
    for key in ("preset", "execution", "max_workgroup_size", "max_storage_buffers", "limits"):
        need(key in caps, "%s: capability %s" % (spec, key))
    need(caps.get("preset"), "%s: a preset" % spec)
    checks = d.get("checks", [])
    for g in groups:
        need(any(c["name"].startswith(g) for c in checks), "%s: no %s check" % (spec, g))
    for c in checks:
        need(c.get("result") == "passed" and c.get("cases", 0) > 0 and c.get("failures") == 0,
             "%s %s: %s (%s)" % (spec, c.get("name"), c.get("result"), c.get("first_failure")))
        need("tolerance" in c and "seconds" in c, "%s %s: tolerance and time" % (spec, c["name"]))
    for run in ("training.cnn", "training.gpt"):
        t = [c for c in checks if c["name"] == run]
        need(t and len(t[0].get("losses", [])) == 50 and len(t[0].get("reference_losses", [])) == 50,
             "%s %s: 50 losses and their reference" % (spec, run))
    probes = {p["name"]: p for p in d.get("probes", [])}
    for name in ("copy_bandwidth", "dispatch_latency", "optimizer_roofline_ratio"):
        need(name in probes and probes[name].get("value") is not None and probes[name]["value"] > 0,
             "%s: probe %s" % (spec, name))
    need(any(n.startswith("gemm_") and p.get("value") for n, p in probes.items()),
         "%s: a GEMM probe" % spec)
agreement = report.get("agreement", {})
need("same_hardware" in agreement and "comparisons" in agreement, "agreement section")
for a in agreement.get("comparisons", []):
    need(a.get("result") == "passed", "%s %s %s: %s" % (a.get("name"), a.get("opencl"),
                                                         a.get("vulkan"), a.get("message")))
for f in failures:
    print("FAIL " + f)
print("%d devices, %d comparisons; %s" % (len(devices), len(agreement.get("comparisons", [])),
                                          "FAILED" if failures else "the report is complete"))
sys.exit(1 if failures else 0)
EOF
