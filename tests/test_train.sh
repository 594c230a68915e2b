#!/usr/bin/env bash
# test_train.sh: the training programs end to end, on small generated data.
#
#   test_train.sh PORTA_TRAIN MAKE_FIXTURE CHECK_CHECKPOINT PORTA_SAMPLE
#
# - vision: a CNN trains on an MNIST-format fixture and writes metrics.jsonl,
#   curves.svg and checkpoint.safetensors; a run stopped after epoch 1 and
#   resumed gives metrics.jsonl identical byte for byte to the uninterrupted
#   run; resnet runs on a CIFAR-10 fixture; a corrupt or missing dataset is
#   refused with a message naming the file;
# - killing the program at random moments (checkpoints every few steps)
#   never leaves a checkpoint that fails to load;
# - text: a small GPT trains on a text fixture (its checkpoint names the text
#   by file name and SHA-256, not by path; resuming on another text is
#   refused), porta-sample generates from its checkpoint, then it fine-tunes
#   from its
#   checkpoint on another text: it starts at the checkpoint's loss on the
#   old text (the weights are loaded) and lowers the new text's loss.
# Devices: $PORTA_TEST_DEVICE (default opencl:0, else the default device).
set -u
train=$1 fixture=$2 check=$3 sample=$4

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { echo "FAIL $*"; failed=$((failed + 1)); }
check_that() { if eval "$1"; then ok; else bad "$2"; fi; }
# Under the sanitizer build the Mesa drivers come preloaded (tests/CMakeLists.txt).
run() { LD_PRELOAD="${PORTA_CHILD_PRELOAD:-}" "$@"; }
dev=()
[ -n "${PORTA_TEST_DEVICE:-}" ] && dev=(--device "$PORTA_TEST_DEVICE")

mkdir -p "$work/mnist" && "$fixture" mnist "$work/mnist" 320 100
mkdir -p "$work/cifar" && "$fixture" cifar "$work/cifar" 160 40
"$fixture" text "$work/a.txt" 60000 1
"$fixture" text "$work/b.txt" 30000 7
sed -i 's/lord/king/g; s/moses/david/g' "$work/b.txt"

common=(--data "$work/mnist" --model cnn --batch 16 --log-every 10 "${dev[@]}")
run "$train" vision "${common[@]}" --epochs 2 --out "$work/a" >"$work/a.log" 2>&1
check_that '[ $? -eq 0 ]' "vision: 2 epochs ran ($(tail -3 "$work/a.log"))"
check_that 'grep -q "final test accuracy" "$work/a.log"' "vision: final accuracy printed"
acc=$(sed -n 's/^final test accuracy \([0-9.]*\)%.*/\1/p' "$work/a.log")
check_that 'awk -v a="${acc:-0}" "BEGIN{exit !(a >= 80)}"' "vision: accuracy $acc% >= 80% on the fixture"
check_that '[ "$(grep -c "\"loss\"" "$work/a/metrics.jsonl")" -eq 40 ]' "vision: 40 step lines"
check_that '[ "$(grep -c "test_accuracy" "$work/a/metrics.jsonl")" -eq 2 ]' "vision: 2 evaluation lines"
check_that 'grep -q "</svg>" "$work/a/curves.svg"' "vision: curves.svg written"
check_that '"$check" "$work/a/checkpoint.safetensors" conv1.weight classifier.bias' "vision: checkpoint loads"

run "$train" vision "${common[@]}" --epochs 1 --out "$work/b" >"$work/b1.log" 2>&1
run "$train" vision "${common[@]}" --epochs 2 --out "$work/b" --resume "$work/b" >"$work/b2.log" 2>&1
check_that '[ $? -eq 0 ] && grep -q "resuming" "$work/b2.log"' "vision: resumed ($(tail -2 "$work/b2.log"))"
check_that 'cmp -s "$work/a/metrics.jsonl" "$work/b/metrics.jsonl"' \
  "vision: resumed metrics.jsonl differs from the uninterrupted run"

run "$train" vision --data "$work/cifar" --model resnet --batch 8 --epochs 1 --max-steps 6 \
  --log-every 3 --out "$work/c" "${dev[@]}" >"$work/c.log" 2>&1
check_that '[ $? -eq 0 ] && grep -q "final test accuracy" "$work/c.log"' "resnet on CIFAR-10 fixture ($(tail -2 "$work/c.log"))"

# corrupt data: a truncated image file, a missing directory
cp -r "$work/mnist" "$work/broken"
truncate -s 1000 "$work/broken/train-images-idx3-ubyte"
run "$train" vision --data "$work/broken" "${dev[@]}" --out "$work/x" >"$work/x.log" 2>&1
rc=$?
check_that '[ $rc -ne 0 ] && grep -q "train-images-idx3-ubyte" "$work/x.log" && grep -qi "truncated" "$work/x.log"' \
  "truncated dataset: exit $rc, $(tail -1 "$work/x.log")"
run "$train" vision --data "$work/nothing-here" "${dev[@]}" --out "$work/x" >"$work/x.log" 2>&1
rc=$?
check_that '[ $rc -ne 0 ] && grep -q "nothing-here" "$work/x.log"' "missing dataset: exit $rc"
run "$train" vision --model vgg "${dev[@]}" >"$work/x.log" 2>&1
check_that '[ $? -eq 2 ]' "unknown model is a usage error"

# kill at random moments while checkpoints are written every 2 steps: each
# round starts (or resumes) a run, waits for it to write a new checkpoint,
# then kills it a random moment later
kill_run=(--text "$work/a.txt" --layers 2 --heads 2 --dim 64 --context 32 --batch 8
  --steps 100000 --eval-every 2 --eval-batches 1 --log-every 2 --out "$work/k" "${dev[@]}")
loads=0
for i in 1 2 3 4 5 6; do
  before=$(stat -c %Y.%s "$work/k/checkpoint.safetensors" 2>/dev/null)
  resume=()
  [ -n "$before" ] && resume=(--resume "$work/k")
  run "$train" text "${kill_run[@]}" "${resume[@]}" >>"$work/k.log" 2>&1 &
  pid=$!
  for _ in $(seq 600); do
    now=$(stat -c %Y.%s "$work/k/checkpoint.safetensors" 2>/dev/null)
    [ -n "$now" ] && [ "$now" != "$before" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  sleep "0.0$((RANDOM % 10))"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  if [ -f "$work/k/checkpoint.safetensors" ]; then
    if "$check" "$work/k/checkpoint.safetensors" wte.weight; then
      loads=$((loads + 1))
    else
      bad "checkpoint after kill $i does not load"
    fi
  fi
done
check_that '[ $loads -eq 6 ]' "killed runs: $loads of 6 checkpoints loaded ($(tail -2 "$work/k.log"))"

# text: train, then fine-tune from the checkpoint on another text
gpt=(--layers 2 --heads 2 --dim 32 --context 32 --batch 8 --eval-batches 4 --log-every 10 "${dev[@]}")
run "$train" text --text "$work/a.txt" "${gpt[@]}" --steps 60 --eval-every 30 --lr 3e-3 --out "$work/t" >"$work/t.log" 2>&1
check_that '[ $? -eq 0 ] && grep -q "final validation loss" "$work/t.log"' "text: trained ($(tail -2 "$work/t.log"))"
first=$(sed -n 's/^step 0: validation loss \([0-9.]*\).*/\1/p' "$work/t.log")
last=$(sed -n 's/^final validation loss \([0-9.]*\).*/\1/p' "$work/t.log")
check_that 'awk -v a="$first" -v b="$last" "BEGIN{exit !(b < a - 1.0)}"' "text: loss $first -> $last"
check_that 'grep -q val_bpb "$work/t/metrics.jsonl"' "text: val_bpb logged"
# the checkpoint names its text by file name and content hash, never by
# the writer's path
sha=$(sha256sum "$work/a.txt" | cut -d' ' -f1)
check_that '! grep -aqF "$work" "$work/t/checkpoint.safetensors"' \
  "text: the checkpoint holds an absolute path of this machine ($work)"
check_that 'grep -aqF "\"text_file\":\"a.txt\"" "$work/t/checkpoint.safetensors" &&
  grep -aqF "\"text_sha256\":\"$sha\"" "$work/t/checkpoint.safetensors"' \
  "text: the checkpoint names a.txt and its SHA-256 $sha"
run "$train" text --text "$work/b.txt" "${gpt[@]}" --steps 80 --eval-every 30 --out "$work/t" \
  --resume "$work/t" >"$work/r.log" 2>&1
rc=$?
check_that '[ $rc -eq 2 ] && grep -q "$sha" "$work/r.log"' \
  "text: resuming on another text is refused naming the hashes (exit $rc: $(tail -1 "$work/r.log"))"
run "$sample" "$work/t" --prompt "the lord " --tokens 30 --seed 3 "${dev[@]}" >"$work/s.txt" 2>"$work/s.log"
check_that '[ $? -eq 0 ] && [ "$(head -c 9 "$work/s.txt")" = "the lord " ] && [ "$(wc -c <"$work/s.txt")" -ge 40 ]' \
  "porta-sample: 30 bytes after the prompt ($(head -c 60 "$work/s.txt"))"
run "$train" text --text "$work/a.txt" "${gpt[@]}" --steps 1 --max-steps 0 --init-from "$work/t" --out "$work/u0" >"$work/u0.log" 2>&1
again=$(sed -n 's/^step 0: validation loss \([0-9.]*\).*/\1/p' "$work/u0.log")
check_that '[ -n "$again" ] && [ "$again" = "$last" ]' "fine-tune: the loaded weights give the checkpoint's loss ($again vs $last)"
run "$train" text --text "$work/b.txt" "${gpt[@]}" --steps 40 --eval-every 20 --lr 3e-3 --init-from "$work/t" --out "$work/u" >"$work/u.log" 2>&1
f0=$(sed -n 's/^step 0: validation loss \([0-9.]*\).*/\1/p' "$work/u.log")
f1=$(sed -n 's/^final validation loss \([0-9.]*\).*/\1/p' "$work/u.log")
check_that 'awk -v a="${f0:-0}" -v b="${f1:-9}" "BEGIN{exit !(b < a)}"' "fine-tune on a new text: loss $f0 -> $f1"
printf '\0\1\2binary' >"$work/bin.txt"
run "$train" text --text "$work/bin.txt" "${dev[@]}" --out "$work/x" >"$work/x.log" 2>&1
rc=$?
check_that '[ $rc -ne 0 ] && grep -q "bin.txt" "$work/x.log"' "binary text refused: exit $rc"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
