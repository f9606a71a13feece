#!/usr/bin/env bash
# Session script 8 (2026-12-07, fourth session), prepared and NOT RUN (the session's device time ran out). In one call:
# main (the folder's build, `dotnet fsi build.fsx device-prep`) against exp4 (e8m0-selects.diff: E8M0Scale by
# Utilities.Select) and exp5 (whole-reduce-four-runs.diff: Whole's reduction four runs in flight whatever the layout):
# (1) Adam-mini's fp8 moment two runs each, Adam-mini fp32 and StableAdamW bf16 + Kahan once each on main and exp5, AdamW
# block fp8 once each on main and exp4; (2) ptxas registers and spills of main's and exp5's Whole; (3) the CUDA checks
# each change needs, exp4 and exp5 side by side, with the time left of BUDGET seconds.
# Put each worktree's S3gd.*.dll and s3gd.dll in artifacts/device/exp4/ and exp5/. Run: cd artifacts/device && BUDGET=300 bash run8.sh
source "$(dirname "$0")/prelude.sh"
start=$(date +%s)
t() { echo "t=$(( $(date +%s) - start ))"; }
log="$out/bench.log"
nvidia-smi -L > "$log" 2>&1
for x in exp4 exp5; do d="$(mktemp -d)"; cp -r "$work/." "$d/"; cp "$work/$x/"* "$d/"; chmod +x "$d/s3gd"; eval "$x=$d"; done
echo "main=$work exp4=$exp4 exp5=$exp5" >> "$log"
b() { local bin=$1; shift; echo "== $bin $* $(t)" >> "$log"; timeout 60 "$bin/s3gd" bench --backend cuda --sizes 64M --iterations 30 "$@" --out "$(mktemp -d)" 2>&1 | grep -v "^bench:\|^wrote\|^backend" >> "$log"; }
mini="--rule adam-mini --state-dtype fp8e4m3"
for k in 1 2; do b "$work" $mini; b "$exp4" $mini; b "$exp5" $mini; done
for c in "--rule adam-mini" "--rule stableadamw --param-dtype bf16 --state-dtype bf16 --param-update kahan"; do b "$work" $c; b "$exp5" $c; done
b "$work" --rule adamw --state-dtype fp8e4m3; b "$exp4" --rule adamw --state-dtype fp8e4m3
for bin in "$work" "$exp5"; do
  d="$(mktemp -d)"; S3GD_PTX_DIR="$d" timeout 60 "$bin/s3gd" bench --backend cuda --sizes 1M --no-gpt2 --iterations 2 $mini --out "$(mktemp -d)" > /dev/null 2>&1
  for f in "$d"/*.ptx; do
    grep -q "\.entry Kernel_Whole(" "$f" && echo "ptxas $bin Whole: $(/usr/local/cuda/bin/ptxas -v -arch=sm_90 -maxrregcount=80 "$f" -o /dev/null 2>&1 | grep -E 'Used|spill' | tr '\n' ' ')" >> "$log"
  done
done
left=$(( ${BUDGET:-300} - ($(date +%s) - start) ))
seed=$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')
echo "== verify exp4 and exp5 side by side, seed $seed, $left s left $(t)" >> "$log"
timeout "$left" "$exp4/s3gd" verify --backend cuda --seed "$seed" --max-test 2 --check adam-mini --check "structured CPU twin" --check "elementwise CPU twin" --check fp8 > "$out/verify-exp4.log" 2>&1 &
timeout "$left" "$exp5/s3gd" verify --backend cuda --seed "$seed" --max-test 3 --check adam-mini --check "structured CPU twin" --check forced --check stableadamw > "$out/verify-exp5.log" 2>&1 &
wait
for x in exp4 exp5; do echo "== verify $x"; tail -3 "$out/verify-$x.log"; done >> "$log"
echo "done $(t)" >> "$log"
