#!/usr/bin/env bash
# run-demo.sh: set up, build and run porta's main demo on the default device:
# a CNN trained on Fashion-MNIST for 5 epochs with AdamW + GreedyLR, the test
# accuracy printed after each epoch; metrics.jsonl, curves.svg and
# checkpoint.safetensors in runs/vision/. Extra arguments go to
# `porta-train vision` (e.g. --device vulkan, --epochs 1, --model mlp).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
exec build/apps/porta-train vision --model cnn --epochs 5 "$@"
