#!/usr/bin/env bash
# Session script 1 (2026-12-07, third session): PTX cache hints, an experiment. The build: main 1dbb485 with an
# experiment knob in CudaBackend.Load (run1-knob.diff: S3GD_EXP_PTX="from=>to;..." rewrites the PTX text before the driver loads it;
# unset, the build is main). Each rewrite is first checked by ptxas (sm_90) on S3GD's dumped PTX, then timed:
# S3GD bf16/fp8 (issue 12's >= 1.01 bar) and Adam-mini's fp8 moment, interleaved with no rewrite. BUDGET seconds.
source "$(dirname "$0")/prelude.sh"
start=$(date +%s)
t() { echo "t=$(( $(date +%s) - start ))"; }
log="$out/bench.log"
nvidia-smi -L > "$log" 2>&1
b() { echo "== ${S3GD_EXP_PTX:-none} | $* $(t)" >> "$log"; timeout ${TO:-60} "$work/s3gd" bench --backend cuda --sizes 64M --iterations 30 "$@" --out "$(mktemp -d)" 2>&1 | grep -v "^bench:" >> "$log"; }
s3="--rule s3gd --param-dtype bf16 --math-dtype bf16 --state-dtype fp8e4m3-unscaled"
mini="--rule adam-mini --state-dtype fp8e4m3"
L2='ld.global.v=>ld.global.L2::256B.v'
CS='st.global.v=>st.global.cs.v'
NA='ld.global.v=>ld.global.L1::no_allocate.v'
LCS='ld.global.v=>ld.global.cs.v'
LU='ld.global.v=>ld.global.lu.v'
# ptxas check of every rewrite on S3GD's kernel
d="$(mktemp -d)"; S3GD_PTX_DIR="$d" timeout 60 "$work/s3gd" bench --backend cuda --sizes 1M --no-gpt2 --iterations 2 $s3 --out "$(mktemp -d)" > /dev/null 2>&1
for r in "" "$L2" "$CS" "$L2;$CS" "$NA" "$LCS" "$LU" "$NA;$CS"; do
  for f in "$d"/*.ptx; do
    p="$f.x.ptx"; cp "$f" "$p"
    IFS=';' read -ra rules <<< "$r"
    for rule in "${rules[@]}"; do from="${rule%%=>*}"; to="${rule#*=>}"; sed -i "s/${from//./\\.}/${to//./\\.}/g" "$p"; done
    echo "ptxas [$r] $(basename "$f"): $(grep -c 'ld.global\|st.global' "$p") moves; $(/usr/local/cuda/bin/ptxas -arch=sm_90 -v "$p" -o /dev/null 2>&1 | grep -o 'Used [0-9]* registers' | head -1) $(/usr/local/cuda/bin/ptxas -arch=sm_90 "$p" -o /dev/null 2>&1 | head -2)" >> "$log"
  done
done
b $s3
S3GD_EXP_PTX="$L2" b $s3
S3GD_EXP_PTX="$CS" b $s3
S3GD_EXP_PTX="$L2;$CS" b $s3
b $s3
S3GD_EXP_PTX="$NA" b $s3
S3GD_EXP_PTX="$LCS" b $s3
S3GD_EXP_PTX="$LU" b $s3
S3GD_EXP_PTX="$NA;$CS" b $s3
b $s3
S3GD_EXP_PTX="$L2" b $s3
S3GD_EXP_PTX="$L2;$CS" b $s3
b $mini
S3GD_EXP_PTX="$L2" b $mini
S3GD_EXP_PTX="$CS" b $mini
S3GD_EXP_PTX="$L2;$CS" b $mini
b $mini
echo "done $(t)" >> "$log"
