#!/usr/bin/env bash
# Runs on a lent GPU machine (no .NET SDK needed) from the folder `dotnet fsi build.fsx device-prep`
# fills (artifacts/device: the self-contained s3gd CLI and this script): prints the devices, then
# verifies the CUDA backend against the spec, and compares Muon and OAdamW on it against the spec
# within their bf16 Newton-Schulz bound. Logs go to $OUT (or ./out): devices.log, verify.log,
# compare.log. The exit status is non-zero when any command fails.
# shellcheck source=prelude.sh
source "$(dirname "$0")/prelude.sh"
{
  echo "== machine"
  nvidia-smi -L 2>&1 || echo "nvidia-smi not found"
} > "$out/machine.log"
echo "== s3gd devices" | tee "$out/devices.log"
"$work/s3gd" devices 2>&1 | tee -a "$out/devices.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

echo "== s3gd verify --backend cuda ${S3GD_VERIFY_ARGS:-}" | tee "$out/verify.log"
# shellcheck disable=SC2086 # extra arguments are meant to split
"$work/s3gd" verify --backend cuda ${S3GD_VERIFY_ARGS:-} 2>&1 | tee -a "$out/verify.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

echo "== s3gd compare --backend cuda --against spec (Muon, OAdamW)" | tee "$out/compare.log"
for rule in muon oadamw; do
  "$work/s3gd" compare --rule "$rule" --backend cuda --against spec --shape 64x32 --steps 5 --seed 1 2>&1 | tee -a "$out/compare.log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
done

rm -rf "$work"
echo "verify.sh: exit $status" | tee -a "$out/verify.log"
exit $status
