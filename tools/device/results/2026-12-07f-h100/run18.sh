#!/usr/bin/env bash
# Session script 18 (2026-12-07, sixth session): run17.sh cut to fit the device time left after six failed starts.
# exp14 (WholeBlockMinCount 1024 -> 3072: GPT-2's 3072-element rows take Whole; run16.sh found them in WholeBlock at 2.07
# TB/s of DRAM traffic against Whole's 2.79 on the 768-element rows) against main: Adam-mini fp8 two runs each, Adam-mini
# fp32 and StableAdamW once each, then exp14's CUDA checks of the structured steps in the time left of BUDGET seconds.
# Put the worktree's S3gd.*.dll and s3gd.dll in artifacts/device/exp14/. Run: cd artifacts/device && BUDGET=170 bash run18.sh
source "$(dirname "$0")/prelude.sh"
start=$(date +%s)
t() { echo "t=$(( $(date +%s) - start ))"; }
log="$out/bench.log"
nvidia-smi -L > "$log" 2>&1
exp14="$(mktemp -d)"; cp -r "$work/." "$exp14/"; cp "$work/exp14/"* "$exp14/"; chmod +x "$exp14/s3gd"
echo "main=$work exp14=$exp14" >> "$log"
b() { local bin=$1; shift; echo "== $bin $* $(t)" >> "$log"; timeout 60 "$bin/s3gd" bench --backend cuda --sizes 64M --iterations 30 "$@" --out "$(mktemp -d)" 2>&1 | grep -v "^bench:\|^wrote\|^backend" >> "$log"; }
mini="--rule adam-mini --state-dtype fp8e4m3"
for k in 1 2; do b "$work" $mini; b "$exp14" $mini; done
for bin in "$work" "$exp14"; do b "$bin" --rule adam-mini; b "$bin" --rule stableadamw; done
left=$(( ${BUDGET:-170} - ($(date +%s) - start) ))
seed=$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')
echo "== verify exp14, seed $seed, $left s left $(t)" >> "$log"
timeout "$left" "$exp14/s3gd" verify --backend cuda --seed "$seed" --max-test 2 --check adam-mini --check "structured CPU twin" --check forced --check stableadamw > "$out/verify-exp14.log" 2>&1
tail -3 "$out/verify-exp14.log" >> "$log"
echo "done $(t)" >> "$log"
