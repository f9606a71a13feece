#!/usr/bin/env bash
# Runs on a lent GPU machine from the folder `dotnet fsi build.fsx device-prep` fills (artifacts/device): where each
# narrow-format path of issue 12 spends its time. For every case: `s3gd bench` at 64M and on GPT-2 with the plan's
# default layout and with `--layout tune` (the fastest candidate), then one launch of its kernels under Nsight Compute:
# time, DRAM bytes, instructions executed per thread, registers, achieved occupancy, issue-slot use.
# Logs go to $OUT (or ./out): bench.log, ncu.csv (one row per metric and kernel; tools/device/ncu_table.py prints it as a
# table per parameter), profile.log.
# S3GD_PROFILE_CASES picks cases by name (default: all of them).
# shellcheck source=prelude.sh
source "$(dirname "$0")/prelude.sh"
ncu="${NCU:-ncu}"

# name | bench arguments (the bars of issue 12)
cases=(
  "s3gd-bf16-fp8|--rule s3gd --param-dtype bf16 --math-dtype bf16 --state-dtype fp8e4m3-unscaled"
  "s3gd-fp32math-fp8|--rule s3gd --param-dtype bf16 --state-dtype fp8e4m3-unscaled"
  "s3gd-bf16-momentum|--rule s3gd --param-dtype bf16 --math-dtype bf16 --state-dtype bf16"
  "adamw-all-bf16|--rule adamw --param-dtype bf16 --math-dtype bf16 --state-dtype bf16"
  "adamw-bf16-kahan|--rule adamw --param-dtype bf16 --state-dtype bf16 --param-update kahan"
  "adamw-block-fp8|--rule adamw --state-dtype fp8e4m3"
  "stableadamw-bf16-kahan|--rule stableadamw --param-dtype bf16 --state-dtype bf16 --param-update kahan"
  "adam-mini-fp8|--rule adam-mini --state-dtype fp8e4m3"
)
# Per launch: time, DRAM traffic, instructions (warp and thread), registers, occupancy, issue slots, elapsed SM and DRAM use.
metrics=gpu__time_duration.sum,dram__bytes_read.sum,dram__bytes_write.sum,smsp__inst_executed.sum,smsp__thread_inst_executed.sum,launch__registers_per_thread,launch__occupancy_limit_registers,sm__warps_active.avg.pct_of_peak_sustained_active,smsp__issue_active.avg.pct_of_peak_sustained_active,dram__throughput.avg.pct_of_peak_sustained_elapsed,sm__throughput.avg.pct_of_peak_sustained_elapsed,launch__grid_size

for entry in "${cases[@]}"; do
  name="${entry%%|*}"; args="${entry#*|}"
  [ -n "${S3GD_PROFILE_CASES:-}" ] && [[ " $S3GD_PROFILE_CASES " != *" $name "* ]] && continue
  for layout in default tune; do
    echo "== $name --layout $layout" | tee -a "$out/bench.log"
    # shellcheck disable=SC2086 # the case's arguments are meant to split
    timeout 120 "$work/s3gd" bench --backend cuda --sizes 64M --layout "$layout" $args --out "$work/b-$name-$layout" 2>&1 | tee -a "$out/bench.log"
    [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "(failed)" | tee -a "$out/bench.log"; status=1; }
  done
  # One warm launch of every kernel of the step, 64M, default layout (the copy is a driver memcpy, not profiled).
  echo "== ncu $name" | tee -a "$out/profile.log"
  # shellcheck disable=SC2086
  timeout 180 "$ncu" --csv --metrics "$metrics" --launch-skip 6 --launch-count 3 \
    "$work/s3gd" bench --backend cuda --sizes 64M --no-gpt2 --iterations 2 $args --out "$work/p-$name" \
    > "$work/ncu-$name.csv" 2>> "$out/profile.log" || { echo "(ncu failed)" >> "$out/profile.log"; status=1; }
  grep '^"' "$work/ncu-$name.csv" | sed "s/^/\"$name\",/" >> "$out/ncu.csv"
done
rm -rf "$work"
echo "profile.sh: exit $status" | tee -a "$out/profile.log"
exit $status
