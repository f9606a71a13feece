#!/usr/bin/env bash
# Session script 6 (2026-12-07, fourth session). In one call: (1) Adam-mini's fp8 moment, main at 2ae71f5 (the folder's
# build, `dotnet fsi build.fsx device-prep`) against exp3 (exp3/ holds S3gd.*.dll and s3gd.dll of main with
# Fp8FallbackMoment.Load's whole runs decoded by their own copy, the bounds folded away), two runs each; (2) exp3's
# `--layout tune`; (3) ncu of each build's warp kernel Whole on GPT-2; (4) SASS opcode counts of exp3's Whole and
# WholeBlock; (5) verify on exp3 with the time left of BUDGET seconds.
# Run: cd artifacts/device && BUDGET=300 bash run6.sh
source "$(dirname "$0")/prelude.sh"
start=$(date +%s)
t() { echo "t=$(( $(date +%s) - start ))"; }
log="$out/bench.log"
nvidia-smi -L > "$log" 2>&1
exp3="$(mktemp -d)"; cp -r "$work/." "$exp3/"; cp "$work/exp3/"* "$exp3/"; chmod +x "$exp3/s3gd"
mini="--rule adam-mini --state-dtype fp8e4m3"
b() { local bin=$1; shift; echo "== $bin $* $(t)" >> "$log"; timeout 90 "$bin/s3gd" bench --backend cuda --sizes 64M --iterations 30 "$@" 2>&1 | grep -v "^bench:\|^wrote\|^backend" >> "$log"; }
echo "main=$work exp3=$exp3" >> "$log"
for k in 1 2; do b "$work" $mini --out "$(mktemp -d)"; b "$exp3" $mini --out "$(mktemp -d)"; done
b "$exp3" $mini --layout tune --out "$(mktemp -d)"
metrics=gpu__time_duration.sum,dram__bytes_read.sum,dram__bytes_write.sum,smsp__inst_executed.sum,smsp__thread_inst_executed.sum,launch__registers_per_thread,sm__warps_active.avg.pct_of_peak_sustained_active,smsp__issue_active.avg.pct_of_peak_sustained_active,dram__throughput.avg.pct_of_peak_sustained_elapsed,launch__grid_size,smsp__average_warp_latency_issue_stalled_long_scoreboard
for pair in "main:$work" "exp3:$exp3"; do
  name="${pair%%:*}"; bin="${pair#*:}"
  echo "== ncu $name $(t)" >> "$log"
  timeout 120 ncu --clock-control none --csv --metrics "$metrics" --kernel-name Kernel_Whole --launch-skip 2 --launch-count 2 \
    "$bin/s3gd" bench --backend cuda --sizes 1K --iterations 3 $mini --out "$(mktemp -d)" > "$out/ncu-$name.csv" 2>> "$log"
done
d="$(mktemp -d)"; S3GD_PTX_DIR="$d" timeout 60 "$exp3/s3gd" bench --backend cuda --sizes 1M --no-gpt2 --iterations 2 $mini --out "$(mktemp -d)" > /dev/null 2>&1
for f in "$d"/*.ptx; do
  k=$(grep -m1 -oE "\.entry [A-Za-z_]+" "$f" | cut -d' ' -f2)
  case "$k" in Kernel_WholeBlock|Kernel_Whole) ;; *) continue;; esac
  /usr/local/cuda/bin/ptxas -v -arch=sm_90 "$f" -o "$d/$k.cubin" > "$d/ptxas.log" 2>&1
  echo "sass exp3 $k: $(/usr/local/cuda/bin/cuobjdump -sass "$d/$k.cubin" | grep -cE '^\s+/\*[0-9a-f]{4}\*/') instructions; $(grep Used "$d/ptxas.log")" >> "$log"
done
left=$(( ${BUDGET:-300} - ($(date +%s) - start) ))
seed=$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')
echo "== verify (exp3) seed $seed, $left s left $(t)" >> "$log"
timeout "$left" "$exp3/s3gd" verify --backend cuda --seed "$seed" --max-test 4 --check adam-mini --check "structured CPU twin" --check forced > "$out/verify.log" 2>&1
tail -15 "$out/verify.log" >> "$log"
echo "done $(t)" >> "$log"
