#!/usr/bin/env bash
# Runs on a lent GPU machine (no .NET SDK needed) from the folder `dotnet fsi build.fsx device-prep`
# fills (artifacts/device: the self-contained s3gd CLI and this script): prints the devices, then
# verifies the CUDA backend against the spec (in shards side by side), and compares Muon and OAdamW on it against the spec
# within their bf16 Newton-Schulz bound. Logs go to $OUT (or ./out), three files (a device call returns at most eight):
# devices.log (the machine too), verify.log (every shard's log in turn), compare.log. The exit status is non-zero when
# any command fails.
# shellcheck source=prelude.sh
source "$(dirname "$0")/prelude.sh"
{
  echo "== machine"
  nvidia-smi -L 2>&1 || echo "nvidia-smi not found"
  echo "== s3gd devices"
} | tee "$out/devices.log"
"$work/s3gd" devices 2>&1 | tee -a "$out/devices.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

# The checks in S3GD_VERIFY_SHARDS (default 8) shards side by side with one seed (S3GD_VERIFY_SEED, default a fresh one):
# each check draws from the seed alone, so the shards together are one run, its CPU-side work (the spec in float64, the
# CPU twin) spread over the machine's cores. Each shard logs to its own file in the work folder; verify.log gathers them.
shards=${S3GD_VERIFY_SHARDS:-8}
seed=${S3GD_VERIFY_SEED:-$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')}
echo "== s3gd verify --backend cuda --seed $seed ${S3GD_VERIFY_ARGS:-} in $shards shards" | tee "$out/verify.log"
pids=()
for k in $(seq 1 "$shards"); do
  # shellcheck disable=SC2086 # extra arguments are meant to split
  "$work/s3gd" verify --backend cuda --seed "$seed" --shard "$k/$shards" ${S3GD_VERIFY_ARGS:-} > "$work/verify-$k.log" 2>&1 &
  pids+=("$!")
done
for k in $(seq 1 "$shards"); do
  wait "${pids[$((k - 1))]}" || status=1
  cat "$work/verify-$k.log" >> "$out/verify.log"
done

echo "== s3gd compare --backend cuda --against spec (Muon, OAdamW)" | tee "$out/compare.log"
for rule in muon oadamw; do
  "$work/s3gd" compare --rule "$rule" --backend cuda --against spec --shape 64x32 --steps 5 --seed 1 2>&1 | tee -a "$out/compare.log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
done

rm -rf "$work"
echo "verify.sh: exit $status" | tee -a "$out/verify.log"
exit $status
