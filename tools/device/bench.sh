#!/usr/bin/env bash
# Runs on a lent GPU machine from the folder `dotnet fsi build.fsx device-prep` fills (artifacts/device): the CUDA
# backend verified against the spec (every check, the fused elementwise steps included), then `s3gd bench` over the
# elementwise rules and formats, then tools/device/bench_torch.py timing PyTorch on the same cases beside ours, then
# Muon (`s3gd bench --rule muon`) and tools/device/bench_muon.py timing torch.optim.Muon beside it; then the structured
# steps, Adam-mini's fp8 moment, `run`, training and the soaks.
# Logs and a results.tgz (CSV and SVG files) go to $OUT (or ./out). Each part has a time limit so that a slow part
# cannot take the others' results with it. S3GD_VERIFY_MAX_TEST sets the cases per property (default 5);
# S3GD_BENCH_LAYOUT the launch layout (default: each plan's own choice; `tune` times every candidate); S3GD_PARTS the
# parts to run, of: verify elementwise structured fp8moment run muon train soak torch (default: all of them). The verify
# part also writes every kernel's PTX (S3GD_PTX_DIR) and ptxas's register and spill counts for sm_90 (ptxas.log).
# shellcheck source=prelude.sh
source "$(dirname "$0")/prelude.sh"
results="$work/results"
mkdir -p "$results"

parts=" ${S3GD_PARTS:-verify elementwise structured fp8moment run muon train soak torch} "
part() { [[ "$parts" == *" $1 "* ]]; } # part NAME: whether S3GD_PARTS has it

run() { # run LIMIT LOG COMMAND...: appends to LOG, records a failure
  local limit=$1 log=$2; shift 2
  echo "== $*" | tee -a "$out/$log"
  timeout "$limit" "$@" 2>&1 | tee -a "$out/$log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "(exit ${PIPESTATUS[0]})" | tee -a "$out/$log"; status=1; }
}

{ nvidia-smi -L; nvidia-smi --query-gpu=name,clocks.max.memory,memory.total --format=csv; } > "$out/machine.log" 2>&1
layout="${S3GD_BENCH_LAYOUT:-default}"
# The device-packed CLI runs here without .NET: the OCP examples must print 0x38 0x7e 0x7e 0x80 0x01.
run 30 machine.log "$work/s3gd" formats encode --format fp8e4m3 1 448 500 -0 0.001953125
run 30 machine.log "$work/s3gd" devices
if part verify; then
mkdir -p "$work/ptx"
export S3GD_PTX_DIR="$work/ptx"
run 300 verify.log "$work/s3gd" verify --backend cuda --max-test "${S3GD_VERIFY_MAX_TEST:-5}"
unset S3GD_PTX_DIR
# ptxas on every kernel verify compiled: registers, stack and spills per kernel (the first line names its types).
for f in "$work"/ptx/*.ptx; do head -1 "$f" | cut -c1-400; /usr/local/cuda/bin/ptxas -v -arch=sm_90 "$f" -o /dev/null 2>&1 | grep -E "Used|spill|error"; done > "$out/ptxas.log" 2>&1
tar -czf "$out/ptx.tgz" -C "$work" ptx
fi
if part elementwise; then
# Every elementwise rule at 1M, 16M and 64M parameters and on the GPT-2 shapes (the bar: 64M and GPT-2).
run 120 bench.log "$work/s3gd" bench --backend cuda --layout "$layout" --out "$results/fp32"
run 45 bench.log "$work/s3gd" bench --backend cuda --layout "$layout" --sizes 64M --rule s3gd --param-dtype bf16 --state-dtype bf16,fp8e4m3-unscaled,fp8e4m3 --out "$results/s3gd-bf16"
run 45 bench.log "$work/s3gd" bench --backend cuda --layout "$layout" --sizes 64M --no-gpt2 --rule adamw,sgd,lion,rmsprop --state-dtype bf16,fp8e4m3 --out "$results/narrow-state"
# bf16 parameters taking their update with a Kahan compensation buffer or stochastic rounding.
for mode in kahan stochastic; do
  run 45 bench.log "$work/s3gd" bench --backend cuda --layout "$layout" --sizes 64M --no-gpt2 --rule adamw,s3gd --param-dtype bf16 --state-dtype bf16 --param-update "$mode" --out "$results/bf16-$mode"
done
fi
part torch && part elementwise && run 70 torch.log python3 "$work/bench_torch.py" --ours "$results/fp32/bench.csv" "$results/s3gd-bf16/bench.csv" --out "$results/torch"
# Muon over GPT-2 small's 48 block matrices, then torch.optim.Muon on the same shapes beside it (the bar: a third).
if part muon; then
run 60 bench.log "$work/s3gd" bench --backend cuda --rule muon --iterations 20 --out "$results/muon"
part torch && run 60 torch.log python3 "$work/bench_muon.py" --ours "$results/muon/muon.csv" --out "$results/muon"
fi
# The structured steps (a reduction, then the update): StableAdamW and Adam-mini, fp32 and bf16 moments, and StableAdamW
# with Kahan-compensated bf16 parameters (the bar: 64M and GPT-2 at 0.85 of the copy).
# --layout tune times the six structured layouts per case, hence the longer limits.
if part structured; then
run 180 bench.log "$work/s3gd" bench --backend cuda --layout "$layout" --sizes 16M,64M --rule stableadamw,adam-mini --state-dtype fp32,bf16 --out "$results/structured"
run 90 bench.log "$work/s3gd" bench --backend cuda --layout "$layout" --sizes 64M --no-gpt2 --rule stableadamw --param-dtype bf16 --state-dtype bf16 --param-update kahan --out "$results/structured-kahan"
fi
# Adam-mini's fp8 first moment with bf16 fallback beside its fp32 one (every launch layout tried), and a soak whose checkpoints cross to the CPU
# twin and back (bit for bit, the fallback slots included).
if part fp8moment; then
run 180 bench.log "$work/s3gd" bench --backend cuda --layout tune --sizes 64M --rule adam-mini --state-dtype fp32,fp8e4m3 --out "$results/adam-mini-fp8"
run 180 soak.log "$work/s3gd" soak --backend cuda --optimizer adam-mini --state-dtype fp8e4m3 --steps 4000 --every 500 --alternate --out "$results/soak-adam-mini-fp8"
fi
# `s3gd run --telemetry` on the GPU: per step time (CUDA events), max |update|, non-finite gradients (three put into step 2).
if part run; then
python3 - "$work/npy" <<'PY'
import sys, os, numpy as np
d = sys.argv[1]; os.makedirs(d, exist_ok=True)
rng = np.random.default_rng(1)
np.save(f"{d}/param.npy", rng.standard_normal((256, 128)).astype(np.float32))
g = rng.standard_normal((5, 256, 128)).astype(np.float32)
g[1, 0, :3] = [np.nan, np.inf, -np.inf]
np.save(f"{d}/grads.npy", g)
PY
for r in adamw stableadamw adam-mini; do
  run 60 run.log "$work/s3gd" run --rule "$r" --backend cuda --param "$work/npy/param.npy" --grads "$work/npy/grads.npy" --out "$results/run-$r" --telemetry
done
fi
# The training example on the GPU (the done-bar of the CI test: loss <= 0.1, accuracy >= 0.97 for each optimizer).
part train && run 60 train.log "$work/s3gd" train --backend cuda --optimizer adamw,lion,stableadamw,adam-mini --hidden 32,32 --steps 600 --batch 64 --out "$results/train"
# Checkpoint-and-reload every 1000 steps against an uninterrupted run, bit for bit; the second crosses to the CPU and back.
if part soak; then
run 120 soak.log "$work/s3gd" soak --backend cuda --optimizer adamw --steps 10000 --every 1000 --out "$results/soak-adamw"
run 120 soak.log "$work/s3gd" soak --backend cuda --optimizer adamw --steps 10000 --every 1000 --param-dtype bf16 --state-dtype fp8e4m3 --param-update kahan --alternate --out "$results/soak-bf16-fp8-cross"
# Muon and OAdamW through the optimizer classes (cuBLAS Newton-Schulz); on CUDA only: the CPU's float32 iteration differs.
run 120 soak.log "$work/s3gd" soak --backend cuda --optimizer muon --steps 10000 --every 1000 --out "$results/soak-muon"
run 120 soak.log "$work/s3gd" soak --backend cuda --optimizer oadamw --steps 10000 --every 1000 --out "$results/soak-oadamw"
fi
tar -czf "$out/results.tgz" -C "$results" .
rm -rf "$work"
echo "bench.sh: exit $status" | tee -a "$out/bench.log"
exit $status
