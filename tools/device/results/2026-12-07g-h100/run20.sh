#!/usr/bin/env bash
# Session script 20 (2026-12-07, seventh session): issue 12's narrow cases on main after the six-warp WholeBlock merge
# (each `s3gd bench --backend cuda --sizes 64M --iterations 30 <case>`, 64M and GPT-2, default layouts; S3GD bf16/fp8
# three times for its spread), then `verify.sh` at --max-test 2 (every check, 8 shards, one seed; Muon and OAdamW compared
# against the spec). Run: cp <this> artifacts/device && cd artifacts/device && VERIFY_LIMIT=330 bash run20.sh
source "$(dirname "$0")/prelude.sh"
start=$(date +%s)
log="$out/bench.log"
nvidia-smi -L > "$log" 2>&1
cases=(
  "s3gd-bf16-fp8|--rule s3gd --param-dtype bf16 --math-dtype bf16 --state-dtype fp8e4m3-unscaled,fp8e4m3"
  "s3gd-bf16-fp8|--rule s3gd --param-dtype bf16 --math-dtype bf16 --state-dtype fp8e4m3-unscaled"
  "s3gd-bf16-fp8|--rule s3gd --param-dtype bf16 --math-dtype bf16 --state-dtype fp8e4m3-unscaled"
  "s3gd-bf16-momentum|--rule s3gd --param-dtype bf16 --math-dtype bf16 --state-dtype bf16"
  "adamw-all-bf16|--rule adamw --param-dtype bf16 --math-dtype bf16 --state-dtype bf16"
  "adamw-bf16-kahan|--rule adamw --param-dtype bf16 --state-dtype bf16 --param-update kahan"
  "adamw-block-fp8|--rule adamw --state-dtype fp8e4m3"
  "stableadamw-bf16-kahan|--rule stableadamw --param-dtype bf16 --state-dtype bf16 --param-update kahan"
  "adam-mini|--rule adam-mini --state-dtype fp32,fp8e4m3"
  "adam-mini-fp8|--rule adam-mini --state-dtype fp8e4m3"
)
for entry in "${cases[@]}"; do
  name="${entry%%|*}"; args="${entry#*|}"
  echo "== $name $args t=$(( $(date +%s) - start ))" >> "$log"
  # shellcheck disable=SC2086 # the case's arguments are meant to split
  timeout 60 "$work/s3gd" bench --backend cuda --sizes 64M --iterations 30 $args --out "$(mktemp -d)" 2>&1 | grep -v "^bench:\|^wrote" >> "$log"
done
echo "== verify.sh --max-test 2 t=$(( $(date +%s) - start ))" >> "$log"
S3GD_VERIFY_ARGS="--max-test 2" timeout "${VERIFY_LIMIT:-300}" bash "$(dirname "$0")/verify.sh" > /dev/null 2>&1
echo "verify.sh exit $? t=$(( $(date +%s) - start ))" >> "$log"
