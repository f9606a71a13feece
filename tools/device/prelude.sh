# Sourced first by the device scripts (verify.sh, bench.sh, profile.sh), from the folder device-prep fills: sets `here`
# (that folder), `out` ($OUT or ./out, created) and `work` (a private copy of the folder: the carried one may be read-only
# or lose the execute bit), puts CUDA's libraries (cuBLAS for Muon's Newton-Schulz products) on the loader path, and
# `status=0` for the script's failures.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)"
out="${OUT:-$here/out}"
mkdir -p "$out"
work="$(mktemp -d)"
cp -r "$here/." "$work/"
chmod +x "$work/s3gd"
export LD_LIBRARY_PATH="/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
status=0
