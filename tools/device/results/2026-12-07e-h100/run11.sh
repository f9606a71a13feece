#!/usr/bin/env bash
# Session script 11 (2026-12-07, fifth session). In one call: main at 836397d (the folder's build) against exp8 (Adam-mini's
# tensors that do not decay take the factor 1, so the update never branches per element on the tensor's flag; the fp8
# moment's count of elements in a run as 32-bit; the half warp's maximum as two whole-warp reductions, which ptxas did
# not loop over member masks) and exp9 (exp8 with prefetch.global.L2 of the update's buffers before Whole's reduction,
# once per cache line): (1) Adam-mini's fp8 moment two runs each, Adam-mini fp32 once each; (2) Nsight Compute's time,
# instructions and issue of each build's Whole on GPT-2; (3) the CUDA checks of both side by side with the time left of
# BUDGET seconds.
# Put each worktree's S3gd.*.dll and s3gd.dll in artifacts/device/exp8/ and exp9/. Run: cd artifacts/device && BUDGET=260 bash run11.sh
source "$(dirname "$0")/prelude.sh"
start=$(date +%s)
t() { echo "t=$(( $(date +%s) - start ))"; }
log="$out/bench.log"
nvidia-smi -L > "$log" 2>&1
for x in exp8 exp9; do d="$(mktemp -d)"; cp -r "$work/." "$d/"; cp "$work/$x/"* "$d/"; chmod +x "$d/s3gd"; eval "$x=$d"; done
echo "main=$work exp8=$exp8 exp9=$exp9" >> "$log"
b() { local bin=$1; shift; echo "== $bin $* $(t)" >> "$log"; timeout 60 "$bin/s3gd" bench --backend cuda --sizes 64M --iterations 30 "$@" --out "$(mktemp -d)" 2>&1 | grep -v "^bench:\|^wrote\|^backend" >> "$log"; }
mini="--rule adam-mini --state-dtype fp8e4m3"
for k in 1 2; do b "$work" $mini; b "$exp8" $mini; b "$exp9" $mini; done
for bin in "$work" "$exp8" "$exp9"; do b "$bin" --rule adam-mini; done
metrics=gpu__time_duration.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed,smsp__inst_executed.sum,smsp__average_warp_latency_issue_stalled_long_scoreboard.ratio,smsp__issue_active.avg.pct_of_peak_sustained_active,launch__registers_per_thread
for pair in "main:$work" "exp8:$exp8" "exp9:$exp9"; do
  echo "== ncu ${pair%%:*} $(t)" >> "$log"
  timeout 60 ncu --clock-control none --csv --metrics "$metrics" --kernel-name regex:^Kernel_Whole --launch-skip 2 --launch-count 2 \
    "${pair#*:}/s3gd" bench --backend cuda --sizes , --iterations 2 $mini --out "$(mktemp -d)" 2>> "$log" | grep '^"' | cut -d, -f5,13- >> "$log"
done
left=$(( ${BUDGET:-260} - ($(date +%s) - start) ))
seed=$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')
echo "== verify exp8 and exp9 side by side, seed $seed, $left s left $(t)" >> "$log"
for x in exp8 exp9; do
  timeout "$left" "${!x}/s3gd" verify --backend cuda --seed "$seed" --max-test 2 --check adam-mini --check "structured CPU twin" --check forced --check stableadamw > "$out/verify-$x.log" 2>&1 &
done
wait
for x in exp8 exp9; do echo "== verify $x"; tail -3 "$out/verify-$x.log"; done >> "$log"
echo "done $(t)" >> "$log"
