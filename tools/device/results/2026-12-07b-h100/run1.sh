#!/usr/bin/env bash
# Session script 1 (2026-12-07, second session): main (6cee9d1, its device-prep's S3gd.*.dll and s3gd.dll in old/) against
# wb2, the folder's own build: main with `git revert 8991e6d` (Adam-mini's fp8 moment in WholeBlock again) and an
# experiment knob for StableAdamW's Reduce register budget (in KernelBackend.Structured.cs, StepInternal's
# `Launch(reduce, split, scalars, split.Count, 0)` with S3GD_EXP_REDUCE_BLOCKS, parsed as an int, in place of the 0);
# then verify in 8 shards on wb2 with the time left of BUDGET seconds. Ran with BUDGET=200: call1/.
source "$(dirname "$0")/prelude.sh"
start=$(date +%s)
t() { echo "t=$(( $(date +%s) - start ))"; }
nvidia-smi -L > "$out/bench.log" 2>&1
old="$(mktemp -d)"; cp -r "$work/." "$old/"; cp "$work/old/"* "$old/"; chmod +x "$old/s3gd"
b() { local bin=$1; shift; echo "== $bin $* $(t)" >> "$out/bench.log"; timeout ${TO:-60} "$bin/s3gd" bench --backend cuda --sizes 64M --iterations 30 "$@" --out "$(mktemp -d)" 2>&1 | grep -v "^bench:" >> "$out/bench.log"; }
mini="--rule adam-mini --state-dtype fp8e4m3"
stable="--rule stableadamw --param-dtype bf16 --state-dtype bf16 --param-update kahan"
s3="--rule s3gd --param-dtype bf16 --math-dtype bf16 --state-dtype fp8e4m3-unscaled"
b "$old" $mini
for l in s1 s1-b3 s1-b4; do b "$work" $mini --layout $l; done
b "$old" $mini
b "$old" $stable
for r in 0 5 6 4; do S3GD_EXP_REDUCE_BLOCKS=$r b "$work" $stable; done
b "$old" $stable
TO=150 b "$old" $s3 --layout tune --no-gpt2
b "$old" $s3
left=$(( ${BUDGET:-520} - ($(date +%s) - start) ))
seed=$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')
echo "== verify (wb2) seed $seed, $left s left $(t)" >> "$out/bench.log"
for k in 1 2 3 4 5 6 7 8; do
  timeout "$left" "$work/s3gd" verify --backend cuda --seed "$seed" --shard "$k/8" --max-test 2 > "$work/v-$k.log" 2>&1 &
done
wait
for k in 1 2 3 4 5 6 7 8; do cat "$work/v-$k.log"; done > "$out/verify.log"
echo "done $(t)" >> "$out/bench.log"
