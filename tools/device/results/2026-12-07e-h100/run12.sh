#!/usr/bin/env bash
# Session script 12 (2026-12-07, fifth session). In one call, main with Whole's prefetch for the fp8 moment (the folder's
# build): (1) Adam-mini's fp8 moment two runs, Adam-mini fp32, AdamW block-scaled fp8 and StableAdamW bf16 + Kahan once
# each; (2) the CUDA checks of the structured steps and the fp8 formats, two processes side by side with one seed, with
# the time left of BUDGET seconds.
# Run: cd artifacts/device && BUDGET=240 bash run12.sh
source "$(dirname "$0")/prelude.sh"
start=$(date +%s)
t() { echo "t=$(( $(date +%s) - start ))"; }
log="$out/bench.log"
nvidia-smi -L > "$log" 2>&1
b() { echo "== $* $(t)" >> "$log"; timeout 60 "$work/s3gd" bench --backend cuda --sizes 64M --iterations 30 "$@" --out "$(mktemp -d)" 2>&1 | grep -v "^bench:\|^wrote\|^backend" >> "$log"; }
mini="--rule adam-mini --state-dtype fp8e4m3"
b $mini; b $mini; b --rule adam-mini; b --rule adamw --state-dtype fp8e4m3
b --rule stableadamw --param-dtype bf16 --state-dtype bf16 --param-update kahan
left=$(( ${BUDGET:-240} - ($(date +%s) - start) ))
seed=$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')
echo "== verify, seed $seed, $left s left $(t)" >> "$log"
timeout "$left" "$work/s3gd" verify --backend cuda --seed "$seed" --max-test 2 --check adam-mini --check "structured CPU twin" --check forced --check stableadamw > "$out/verify-structured.log" 2>&1 &
timeout "$left" "$work/s3gd" verify --backend cuda --seed "$seed" --max-test 2 --check fp8 --check "elementwise CPU twin" > "$out/verify-fp8.log" 2>&1 &
wait
for x in structured fp8; do echo "== verify $x"; tail -3 "$out/verify-$x.log"; done >> "$log"
echo "done $(t)" >> "$log"
