#!/usr/bin/env bash
# Session script 5: Adam-mini fp8 WholeBlock (dc205f7) at three register budgets against 52cefa2 (old/); verify shards.
source "$(dirname "$0")/prelude.sh"
start=$(date +%s)
t() { echo "t=$(( $(date +%s) - start ))"; }
nvidia-smi -L > "$out/bench.log" 2>&1
old="$(mktemp -d)"; cp -r "$work/." "$old/"; cp "$work/old/"* "$old/"; chmod +x "$old/s3gd"
b() { local bin=$1; shift; echo "== $bin $* $(t)" >> "$out/bench.log"; timeout 40 "$bin/s3gd" bench --backend cuda --sizes 64M --iterations 20 "$@" --out "$(mktemp -d)" 2>&1 | grep -v "^bench:" >> "$out/bench.log"; }
b "$old" --rule adam-mini --state-dtype fp8e4m3
for l in s1 s1-b3 s1-b4; do b "$work" --rule adam-mini --state-dtype fp8e4m3 --layout $l; done
left=$(( ${BUDGET:-200} - ($(date +%s) - start) ))
seed=$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')
echo "== verify seed $seed, $left s left $(t)" >> "$out/bench.log"
for k in 1 2 3 4 5 6 7 8; do
  timeout "$left" "$work/s3gd" verify --backend cuda --seed "$seed" --shard "$k/8" --max-test 2 > "$work/v-$k.log" 2>&1 &
done
wait
for k in 1 2 3 4 5 6 7 8; do cat "$work/v-$k.log"; done > "$out/verify.log"
echo "done $(t)" >> "$out/bench.log"
