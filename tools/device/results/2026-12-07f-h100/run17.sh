#!/usr/bin/env bash
# NOT RUN: no machine came in four tries; run18.sh is this script cut to the device time that was left.
# Session script 17 (2026-12-07, sixth session). run16.sh found GPT-2's 3072-element rows (mlp.c_fc) in WholeBlock at
# 2.07 TB/s of DRAM traffic against Whole's 2.79 on the 768-element rows: a block of 8 warps holds 16 runs of 256
# elements, and a 3072-element row fills 12 of them. exp14 (WholeBlockMinCount 1024 -> 3072: rows of up to 3072 take
# Whole, the 64M case's 4096-element rows keep WholeBlock) against main: (1) Adam-mini fp8 two runs each, also with two
# runs in flight (--layout s2-b3); Adam-mini fp32 and StableAdamW once each; (2) Nsight Compute's kernels of one GPT-2
# step of exp14; (3) exp14's CUDA checks of the structured steps in the time left of BUDGET seconds.
# Put the worktree's S3gd.*.dll and s3gd.dll in artifacts/device/exp14/. Run: cd artifacts/device && BUDGET=240 bash run17.sh
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
b "$work" $mini --layout s2-b3; b "$exp14" $mini --layout s2-b3
for bin in "$work" "$exp14"; do b "$bin" --rule adam-mini; b "$bin" --rule stableadamw; done
metrics=gpu__time_duration.sum,dram__bytes_read.sum,dram__bytes_write.sum,launch__grid_size,smsp__issue_active.avg.pct_of_peak_sustained_active
echo "== ncu exp14 $(t)" >> "$log"
timeout 60 ncu --clock-control none --cache-control none --csv --metrics "$metrics" --launch-skip 10 --launch-count 5 \
  "$exp14/s3gd" bench --backend cuda --sizes , --iterations 3 $mini --out "$(mktemp -d)" 2>> "$log" | grep '^"' | cut -d, -f1,2,13- >> "$log"
left=$(( ${BUDGET:-240} - ($(date +%s) - start) ))
seed=$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')
echo "== verify exp14, seed $seed, $left s left $(t)" >> "$log"
timeout "$left" "$exp14/s3gd" verify --backend cuda --seed "$seed" --max-test 3 --check adam-mini --check "structured CPU twin" --check forced --check stableadamw > "$out/verify-exp14.log" 2>&1
tail -3 "$out/verify-exp14.log" >> "$log"
echo "done $(t)" >> "$log"
