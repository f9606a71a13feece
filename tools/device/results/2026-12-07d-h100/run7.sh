#!/usr/bin/env bash
# Session script 7 (2026-12-07, fourth session). In one call: main at 2ae71f5 (the folder's build, `dotnet fsi build.fsx
# device-prep`) against exp4 (exp4/ holds S3gd.*.dll and s3gd.dll of main with E8M0Scale's selects as ILGPU's
# Utilities.Select, so the block scale's byte, scale and inverse take no branch): Adam-mini's fp8 moment two runs each,
# AdamW's block-scaled fp8 state one each; then verify on exp4 with the time left of BUDGET seconds.
# Run: cd artifacts/device && BUDGET=170 bash run7.sh
source "$(dirname "$0")/prelude.sh"
start=$(date +%s)
t() { echo "t=$(( $(date +%s) - start ))"; }
log="$out/bench.log"
nvidia-smi -L > "$log" 2>&1
exp4="$(mktemp -d)"; cp -r "$work/." "$exp4/"; cp "$work/exp4/"* "$exp4/"; chmod +x "$exp4/s3gd"
echo "main=$work exp4=$exp4" >> "$log"
mini="--rule adam-mini --state-dtype fp8e4m3"
adamw="--rule adamw --state-dtype fp8e4m3"
b() { local bin=$1; shift; echo "== $bin $* $(t)" >> "$log"; timeout 60 "$bin/s3gd" bench --backend cuda --sizes 64M --iterations 30 "$@" --out "$(mktemp -d)" 2>&1 | grep -v "^bench:\|^wrote\|^backend" >> "$log"; }
for k in 1 2; do b "$work" $mini; b "$exp4" $mini; done
b "$work" $adamw; b "$exp4" $adamw
left=$(( ${BUDGET:-170} - ($(date +%s) - start) ))
seed=$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')
echo "== verify (exp4) seed $seed, $left s left $(t)" >> "$log"
timeout "$left" "$exp4/s3gd" verify --backend cuda --seed "$seed" --max-test 3 --check adam-mini --check "structured CPU twin" --check forced --check "elementwise CPU twin" > "$out/verify.log" 2>&1
tail -16 "$out/verify.log" >> "$log"
echo "done $(t)" >> "$log"
