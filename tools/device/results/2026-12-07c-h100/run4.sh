#!/usr/bin/env bash
# Session script 4 (2026-12-07, third session), prepared and NOT RUN (the session's device time ran out after nine
# starts that found no machine). In one call: (1) Adam-mini's fp8 moment, main (the folder's build, `dotnet fsi
# build.fsx device-prep`) against exp (exp/ holds S3gd.*.dll and s3gd.dll of the same device-prep on main with
# wholeblock-late-loads.diff applied: WholeBlock's fp8 runs load the gradient and the moment's codes before the block's
# reduction, the parameter and the moment's decoding after it), layouts s1-b3 (main's default), s1-b4, s1; (2) ptxas
# registers and spills of each build's WholeBlock; (3) S3GD bf16/fp8 against the S3GD reference's Triton step
# (bench_torch.py --only Triton beside our bench.csv); (4) verify on exp's build with the time left of BUDGET seconds.
# Run: cd artifacts/device && BUDGET=150 bash run4.sh
source "$(dirname "$0")/prelude.sh"
start=$(date +%s)
t() { echo "t=$(( $(date +%s) - start ))"; }
log="$out/bench.log"
nvidia-smi -L > "$log" 2>&1
exp="$(mktemp -d)"; cp -r "$work/." "$exp/"; cp "$work/exp/"* "$exp/"; chmod +x "$exp/s3gd"
s3="--rule s3gd --param-dtype bf16 --math-dtype bf16 --state-dtype fp8e4m3-unscaled"
mini="--rule adam-mini --state-dtype fp8e4m3"
b() { local bin=$1; shift; echo "== $bin $* $(t)" >> "$log"; timeout 60 "$bin/s3gd" bench --backend cuda --sizes 64M --iterations 30 "$@" 2>&1 | grep -v "^bench:\|^wrote\|^backend" >> "$log"; }
b "$work" $mini --out "$(mktemp -d)"
for l in s1-b3 s1-b4 s1; do b "$exp" $mini --layout $l --out "$(mktemp -d)"; done
b "$work" $mini --out "$(mktemp -d)"
b "$exp" $mini --layout s1-b4 --out "$(mktemp -d)"
for bin in "$work" "$exp"; do
  d="$(mktemp -d)"; S3GD_PTX_DIR="$d" timeout 60 "$bin/s3gd" bench --backend cuda --sizes 1M --iterations 2 $mini --layout s1 --out "$(mktemp -d)" > /dev/null 2>&1
  for f in "$d"/*.ptx; do
    if head -1 "$f" | grep -q WholeBlock; then for cap in "" "-maxrregcount=80" "-maxrregcount=64"; do echo "ptxas $bin [$cap] $(head -1 "$f" | cut -c1-100): $(/usr/local/cuda/bin/ptxas -v -arch=sm_90 $cap "$f" -o /dev/null 2>&1 | grep -E 'Used|spill' | tr '\n' ' ')" >> "$log"; done; fi
  done
done
for k in 1; do
  b "$work" $s3 --out "$work/s3-$k"
  echo "== bench_torch.py --only Triton $(t)" >> "$log"
  timeout 80 python3 "$work/bench_torch.py" --sizes 64M --iterations 30 --only Triton --ours "$work/s3-$k/bench.csv" >> "$log" 2>&1
done
left=$(( ${BUDGET:-150} - ($(date +%s) - start) ))
seed=$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')
echo "== verify (exp) seed $seed, $left s left $(t)" >> "$log"
timeout "$left" "$exp/s3gd" verify --backend cuda --seed "$seed" --max-test 4 --check adam-mini --check "structured CPU twin" --check forced > "$out/verify.log" 2>&1
tail -15 "$out/verify.log" >> "$log"
echo "done $(t)" >> "$log"
