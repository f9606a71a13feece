#!/usr/bin/env bash
# Session script: issue 12 bench cases (default layout, 64M + GPT-2), then verify in 8 shards with the time left.
source "$(dirname "$0")/prelude.sh"
start=$(date +%s)
nvidia-smi -L > "$out/machine.log" 2>&1
cases=(
  "s3gd-bf16-fp8|--rule s3gd --param-dtype bf16 --math-dtype bf16 --state-dtype fp8e4m3-unscaled,fp8e4m3"
  "s3gd-bf16-momentum|--rule s3gd --param-dtype bf16 --math-dtype bf16 --state-dtype bf16"
  "adamw-all-bf16|--rule adamw --param-dtype bf16 --math-dtype bf16 --state-dtype bf16"
  "adamw-bf16-kahan|--rule adamw --param-dtype bf16 --state-dtype bf16 --param-update kahan"
  "adamw-block-fp8|--rule adamw --state-dtype fp8e4m3"
  "stableadamw-bf16-kahan|--rule stableadamw --param-dtype bf16 --state-dtype bf16 --param-update kahan"
  "adam-mini-fp8|--rule adam-mini --state-dtype fp32,fp8e4m3"
)
for entry in "${cases[@]}"; do
  name="${entry%%|*}"; args="${entry#*|}"
  echo "== $name $args t=$(( $(date +%s) - start ))" >> "$out/bench.log"
  timeout 60 "$work/s3gd" bench --backend cuda --sizes 64M --iterations 30 $args --out "$out/b-$name" >> "$out/bench.log" 2>&1 || echo "(exit $?)" >> "$out/bench.log"
done
left=$(( ${BUDGET:-570} - ($(date +%s) - start) ))
echo "== verify, $left s left" >> "$out/bench.log"
seed=$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')
echo "seed $seed" > "$out/verify.log"
for k in 1 2 3 4 5 6 7 8; do
  timeout "$left" "$work/s3gd" verify --backend cuda --seed "$seed" --shard "$k/8" --max-test 2 > "$out/verify-$k.log" 2>&1 &
done
wait
echo "done t=$(( $(date +%s) - start ))" >> "$out/bench.log"
