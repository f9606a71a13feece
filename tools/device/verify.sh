#!/usr/bin/env bash
# Runs on a lent GPU machine (no .NET SDK needed) from the folder `dotnet fsi build.fsx device-prep`
# fills (artifacts/device: the self-contained s3gd CLI and this script): prints the devices, then
# verifies the CUDA backend against the spec. Logs go to $OUT (or ./out): devices.log, verify.log.
# The exit status is non-zero when either command fails.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-$here/out}"
mkdir -p "$out"

# The carried folder may be read-only or lose the execute bit: run a private copy.
work="$(mktemp -d)"
cp -r "$here/." "$work/"
chmod +x "$work/s3gd"

# NVRTC loads its builtins library from the loader path; kernels are cached in a writable folder.
export LD_LIBRARY_PATH="/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export XDG_CACHE_HOME="${XDG_CACHE_HOME:-$work/cache}"

status=0
{
  echo "== machine"
  nvidia-smi -L 2>&1 || echo "nvidia-smi not found"
  ls /usr/local/cuda/lib64/libnvrtc* 2>&1
} > "$out/machine.log"
echo "== s3gd devices" | tee "$out/devices.log"
"$work/s3gd" devices 2>&1 | tee -a "$out/devices.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

echo "== s3gd verify --backend cuda ${S3GD_VERIFY_ARGS:-}" | tee "$out/verify.log"
# shellcheck disable=SC2086 # extra arguments are meant to split
"$work/s3gd" verify --backend cuda ${S3GD_VERIFY_ARGS:-} 2>&1 | tee -a "$out/verify.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

# A second, short run in a new process: the kernels must now come from the disk cache.
echo "== s3gd verify --backend cuda --max-test 5 (warm kernel cache)" | tee -a "$out/verify.log"
"$work/s3gd" verify --backend cuda --max-test 5 2>&1 | tee -a "$out/verify.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

rm -rf "$work"
echo "verify.sh: exit $status" | tee -a "$out/verify.log"
exit $status
