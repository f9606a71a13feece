#!/usr/bin/env bash
# Session script 16 (2026-12-07, sixth session): where Adam-mini's fp8 GPT-2 step spends its time, kernel by kernel.
# Nsight Compute's duration, DRAM bytes and occupancy of every launch of two steps (after two warm-up steps), at the
# GPU's own clocks and without cache flushes between launches, beside the bench's time of the whole step.
# Run: cd artifacts/device && bash run16.sh
source "$(dirname "$0")/prelude.sh"
start=$(date +%s)
t() { echo "t=$(( $(date +%s) - start ))"; }
log="$out/bench.log"
nvidia-smi -L > "$log" 2>&1
mini="--rule adam-mini --state-dtype fp8e4m3"
for k in 1 2; do timeout 60 "$work/s3gd" bench --backend cuda --sizes , --iterations 30 $mini --out "$(mktemp -d)" 2>&1 | grep -v "^bench:\|^wrote\|^backend" >> "$log"; done
metrics=gpu__time_duration.sum,dram__bytes_read.sum,dram__bytes_write.sum,launch__grid_size,launch__registers_per_thread,sm__warps_active.avg.pct_of_peak_sustained_active,smsp__issue_active.avg.pct_of_peak_sustained_active,smsp__inst_executed.sum
for m in "$mini" "--rule adam-mini"; do
  echo "== ncu $m $(t)" >> "$log"
  timeout 120 ncu --clock-control none --cache-control none --csv --metrics "$metrics" --launch-skip 10 --launch-count 20 \
    "$work/s3gd" bench --backend cuda --sizes , --iterations 3 $m --out "$(mktemp -d)" 2>> "$log" | grep '^"' | cut -d, -f1,5,12- >> "$log"
done
echo "done $(t)" >> "$log"
