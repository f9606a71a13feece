#!/usr/bin/env bash
# Session script 10 (2026-12-07, fifth session). In one call: main at 836397d (the folder's build) against exp6 (Whole asks
# for the lane's runs of the update's buffers, the gradient aside, by prefetch.global.L1 before its reduction) and exp7
# (the same with prefetch.global.L2): (1) Adam-mini's fp8 moment two runs each, Adam-mini fp32 once each; (2) Nsight
# Compute's time, DRAM throughput and long-scoreboard stalls of each build's Whole on GPT-2; (3) the CUDA checks of both
# side by side with the time left of BUDGET seconds.
# Put each worktree's S3gd.*.dll and s3gd.dll in artifacts/device/exp6/ and exp7/. Run: cd artifacts/device && BUDGET=300 bash run10.sh
source "$(dirname "$0")/prelude.sh"
start=$(date +%s)
t() { echo "t=$(( $(date +%s) - start ))"; }
log="$out/bench.log"
nvidia-smi -L > "$log" 2>&1
for x in exp6 exp7; do d="$(mktemp -d)"; cp -r "$work/." "$d/"; cp "$work/$x/"* "$d/"; chmod +x "$d/s3gd"; eval "$x=$d"; done
echo "main=$work exp6=$exp6 exp7=$exp7" >> "$log"
b() { local bin=$1; shift; echo "== $bin $* $(t)" >> "$log"; timeout 60 "$bin/s3gd" bench --backend cuda --sizes 64M --iterations 30 "$@" --out "$(mktemp -d)" 2>&1 | grep -v "^bench:\|^wrote\|^backend" >> "$log"; }
mini="--rule adam-mini --state-dtype fp8e4m3"
for k in 1 2; do b "$work" $mini; b "$exp6" $mini; b "$exp7" $mini; done
for bin in "$work" "$exp6" "$exp7"; do b "$bin" --rule adam-mini; done
metrics=gpu__time_duration.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed,smsp__inst_executed.sum,smsp__average_warp_latency_issue_stalled_long_scoreboard.ratio,smsp__issue_active.avg.pct_of_peak_sustained_active,l1tex__t_sector_hit_rate.pct,launch__registers_per_thread
for pair in "main:$work" "exp6:$exp6" "exp7:$exp7"; do
  echo "== ncu ${pair%%:*} $(t)" >> "$log"
  timeout 60 ncu --clock-control none --csv --metrics "$metrics" --kernel-name Kernel_Whole --launch-skip 2 --launch-count 1 \
    "${pair#*:}/s3gd" bench --backend cuda --sizes , --iterations 2 $mini --out "$(mktemp -d)" 2>> "$log" | grep '^"' | cut -d, -f13- >> "$log"
done
left=$(( ${BUDGET:-300} - ($(date +%s) - start) ))
seed=$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')
echo "== verify exp6 and exp7 side by side, seed $seed, $left s left $(t)" >> "$log"
for x in exp6 exp7; do
  timeout "$left" "${!x}/s3gd" verify --backend cuda --seed "$seed" --max-test 2 --check adam-mini --check "structured CPU twin" --check forced --check stableadamw > "$out/verify-$x.log" 2>&1 &
done
wait
for x in exp6 exp7; do echo "== verify $x"; tail -3 "$out/verify-$x.log"; done >> "$log"
echo "done $(t)" >> "$log"
