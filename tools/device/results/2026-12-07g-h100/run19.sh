#!/usr/bin/env bash
# Session script 19 (2026-12-07, prepared in the sixth session, run in the seventh: tools/device/README.md). main against
# exp15 (wholeblock-six-warps.diff: whole segments of 1025-3072 elements take WholeBlock in blocks of six warps, 192
# threads, four an SM at the same 80 registers; GPT-2's 3072-element rows filled 12 of an eight-warp block's 16 runs, and
# run16.sh found that kernel at 2.07 TB/s of DRAM traffic against Whole's 2.79): (1) Adam-mini fp8 two runs each,
# Adam-mini fp32 and StableAdamW once each; (2) Nsight Compute's kernels of one GPT-2 step of each; (3) exp15's CUDA
# checks of the structured steps in the time left of BUDGET seconds.
# Apply the diff in a worktree, `dotnet fsi build.fsx device-prep` there and in main, put the worktree's S3gd.*.dll and
# s3gd.dll in main's artifacts/device/exp15/. Run: cd artifacts/device && BUDGET=240 bash run19.sh
source "$(dirname "$0")/prelude.sh"
start=$(date +%s)
t() { echo "t=$(( $(date +%s) - start ))"; }
log="$out/bench.log"
nvidia-smi -L > "$log" 2>&1
exp15="$(mktemp -d)"; cp -r "$work/." "$exp15/"; cp "$work/exp15/"* "$exp15/"; chmod +x "$exp15/s3gd"
echo "main=$work exp15=$exp15" >> "$log"
b() { local bin=$1; shift; echo "== $bin $* $(t)" >> "$log"; timeout 60 "$bin/s3gd" bench --backend cuda --sizes 64M --iterations 30 "$@" --out "$(mktemp -d)" 2>&1 | grep -v "^bench:\|^wrote\|^backend" >> "$log"; }
mini="--rule adam-mini --state-dtype fp8e4m3"
for k in 1 2; do b "$work" $mini; b "$exp15" $mini; done
for bin in "$work" "$exp15"; do b "$bin" --rule adam-mini; b "$bin" --rule stableadamw; done
metrics=gpu__time_duration.sum,dram__bytes_read.sum,dram__bytes_write.sum,launch__grid_size,launch__registers_per_thread,sm__warps_active.avg.pct_of_peak_sustained_active
for pair in "main:$work" "exp15:$exp15"; do
  echo "== ncu ${pair%%:*} $(t)" >> "$log"
  timeout 60 ncu --clock-control none --cache-control none --csv --metrics "$metrics" --launch-skip 12 --launch-count 6 \
    "${pair#*:}/s3gd" bench --backend cuda --sizes , --iterations 3 $mini --out "$(mktemp -d)" 2>> "$log" | grep '^"' | cut -d, -f1,5,12- >> "$log"
done
left=$(( ${BUDGET:-240} - ($(date +%s) - start) ))
seed=$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')
echo "== verify exp15, seed $seed, $left s left $(t)" >> "$log"
timeout "$left" "$exp15/s3gd" verify --backend cuda --seed "$seed" --max-test 3 --check adam-mini --check "structured CPU twin" --check forced --check stableadamw > "$out/verify-exp15.log" 2>&1
tail -3 "$out/verify-exp15.log" >> "$log"
echo "done $(t)" >> "$log"
