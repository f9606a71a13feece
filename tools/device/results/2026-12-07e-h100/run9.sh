#!/usr/bin/env bash
# Session script 9 (2026-12-07, fifth session). In one call, where Adam-mini's fp8 step spends its instructions on GPT-2:
# (1) one bench of main (the folder's build) for the record; (2) Nsight Compute on one launch each of Kernel_WholeBlock
# and Kernel_Whole of the GPT-2 case only (`--sizes ,`), with the per-instruction source counters, instruction mix, warp
# states and occupancy, exported as CSV (details and the SASS source page, executed instructions per SASS line).
# (3) the CUDA checks of the merged E8M0 selects and four-run reduction with the time left of BUDGET seconds.
# Run: cd artifacts/device && BUDGET=330 bash run9.sh
source "$(dirname "$0")/prelude.sh"
start=$(date +%s)
t() { echo "t=$(( $(date +%s) - start ))"; }
log="$out/bench.log"
nvidia-smi -L > "$log" 2>&1
mini="--rule adam-mini --state-dtype fp8e4m3"
echo "== bench main $(t)" >> "$log"
timeout 60 "$work/s3gd" bench --backend cuda --sizes 64M --iterations 30 $mini --out "$(mktemp -d)" 2>&1 | grep -v "^bench:\|^wrote\|^backend" >> "$log"
echo "== ncu $(t)" >> "$log"
sections="--section SpeedOfLight --section LaunchStats --section Occupancy --section InstructionStats --section WarpStateStats --section SchedulerStats --section SourceCounters --section MemoryWorkloadAnalysis"
# shellcheck disable=SC2086
timeout 240 ncu --clock-control none $sections --kernel-name regex:^Kernel_Whole --launch-skip 2 --launch-count 2 -o "$work/mini" \
  "$work/s3gd" bench --backend cuda --sizes , --iterations 2 $mini --out "$(mktemp -d)" >> "$log" 2>&1
echo "ncu rc=$? $(t)" >> "$log"
ncu -i "$work/mini.ncu-rep" --page details --csv > "$out/details.csv" 2>> "$log"
ncu -i "$work/mini.ncu-rep" --page source --csv --print-source sass > "$out/source.csv" 2>> "$log" || echo "source page failed" >> "$log"
gzip -9 "$out/source.csv" 2>> "$log"
cp "$work/mini.ncu-rep" "$out/" 2>> "$log"
ls -la "$out" >> "$log"
left=$(( ${BUDGET:-200} - ($(date +%s) - start) ))
seed=$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')
echo "== verify main seed $seed, $left s left $(t)" >> "$log"
timeout "$left" "$work/s3gd" verify --backend cuda --seed "$seed" --max-test 2 --check adam-mini --check "structured CPU twin" --check forced --check fp8 > "$out/verify.log" 2>&1
tail -4 "$out/verify.log" >> "$log"
echo "done $(t)" >> "$log"
