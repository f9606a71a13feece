#!/usr/bin/env bash
# Session script 15 (2026-12-07, sixth session). The fifth session's run14.sh (never run) plus exp13: in one call, main
# (the folder's build, `dotnet fsi build.fsx device-prep`) against exp10 (2026-12-07e-h100/mean-after-reduction.diff),
# exp11 (whole-four-blocks.diff), exp12 (entries-with-rows.diff) and exp13 (exp10 and exp12 together,
# mean-after-reduction-and-rows.diff): (1) Adam-mini's fp8 moment two runs each, Adam-mini fp32 on main, exp12 and exp13;
# (2) ptxas registers and spills of main's and exp13's Whole at 80 and 64 registers; (3) exp10's, exp12's and exp13's CUDA
# checks of the structured steps, side by side with one seed, in the time left of BUDGET seconds.
# Put each worktree's S3gd.*.dll and s3gd.dll in artifacts/device/exp10/ .. exp13/. Run: cd artifacts/device && BUDGET=300 bash run15.sh
source "$(dirname "$0")/prelude.sh"
start=$(date +%s)
t() { echo "t=$(( $(date +%s) - start ))"; }
log="$out/bench.log"
nvidia-smi -L > "$log" 2>&1
exps="exp10 exp11 exp12 exp13"
for x in $exps; do d="$(mktemp -d)"; cp -r "$work/." "$d/"; cp "$work/$x/"* "$d/"; chmod +x "$d/s3gd"; eval "$x=$d"; done
echo "main=$work exp10=$exp10 exp11=$exp11 exp12=$exp12 exp13=$exp13" >> "$log"
b() { local bin=$1; shift; echo "== $bin $* $(t)" >> "$log"; timeout 40 "$bin/s3gd" bench --backend cuda --sizes 64M --iterations 30 "$@" --out "$(mktemp -d)" 2>&1 | grep -v "^bench:\|^wrote\|^backend" >> "$log"; }
mini="--rule adam-mini --state-dtype fp8e4m3"
for k in 1 2; do b "$work" $mini; for x in $exps; do b "${!x}" $mini; done; done
b "$work" --rule adam-mini; b "$exp12" --rule adam-mini; b "$exp13" --rule adam-mini
for bin in "$work" "$exp13"; do
  d="$(mktemp -d)"; S3GD_PTX_DIR="$d" timeout 40 "$bin/s3gd" bench --backend cuda --sizes 1M --no-gpt2 --iterations 2 $mini --out "$(mktemp -d)" > /dev/null 2>&1
  for f in "$d"/*.ptx; do
    grep -q "\.entry Kernel_Whole(" "$f" || continue
    for r in 80 64; do echo "ptxas $bin Whole $r: $(/usr/local/cuda/bin/ptxas -v -arch=sm_90 -maxrregcount=$r "$f" -o /dev/null 2>&1 | grep -E 'Used|spill' | tr '\n' ' ')" >> "$log"; done
  done
done
left=$(( ${BUDGET:-300} - ($(date +%s) - start) ))
seed=$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')
echo "== verify exp10, exp12 and exp13 side by side, seed $seed, $left s left $(t)" >> "$log"
for x in exp10 exp12 exp13; do
  timeout "$left" "${!x}/s3gd" verify --backend cuda --seed "$seed" --max-test 2 --check adam-mini --check "structured CPU twin" --check forced --check stableadamw > "$out/verify-$x.log" 2>&1 &
done
wait
for x in exp10 exp12 exp13; do echo "== verify $x"; tail -3 "$out/verify-$x.log"; done >> "$log"
echo "done $(t)" >> "$log"
