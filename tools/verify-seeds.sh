#!/usr/bin/env bash
# Runs `s3gd verify` over many seeds to find false failures of the conformance bounds (a sound bound never fails on a
# correct backend). Not a CI test: each seed takes minutes on two cores.
#
#   tools/verify-seeds.sh [COUNT] [FIRST_SEED]
#
# COUNT seeds (default 20), from FIRST_SEED on (default: one drawn at random, printed), each a run of
# `s3gd verify --backend $BACKEND --max-test $MAX_TEST --seed S` (BACKEND cpu, MAX_TEST 100 unless set). Logs go to
# $LOGS (default artifacts/verify-seeds/), one per seed; a failing seed's table rows and replay line are printed at the
# end. S3GD picks the binary (default: the Release build, built first when absent). Exit code 1 when any seed failed.
set -uo pipefail
cd "$(dirname "$0")/.."
count=${1:-20}
first=${2:-$(( (RANDOM << 30 | RANDOM << 15 | RANDOM) ))}
backend=${BACKEND:-cpu}
max_test=${MAX_TEST:-100}
logs=${LOGS:-artifacts/verify-seeds}
s3gd=${S3GD:-src/S3gd.Cli/bin/Release/net10.0/s3gd}
if [ ! -x "$s3gd" ]; then dotnet fsi build.fsx build || exit 2; fi
mkdir -p "$logs"
echo "verify-seeds: $count seeds from $first, backend $backend, max-test $max_test, logs in $logs"
failed=()
for (( k = 0; k < count; k++ )); do
  seed=$(( first + k ))
  log="$logs/seed-$seed.log"
  start=$SECONDS
  "$s3gd" verify --backend "$backend" --max-test "$max_test" --seed "$seed" > "$log" 2>&1
  status=$?
  echo "seed $seed: exit $status ($(( SECONDS - start )) s) $(tail -n 1 "$log")"
  [ "$status" -ne 0 ] && failed+=("$seed")
done
echo "verify-seeds: ${#failed[@]} of $count seeds failed"
for seed in "${failed[@]}"; do
  echo "--- seed $seed"
  grep -E "FAILED|Replay" "$logs/seed-$seed.log"
done
[ ${#failed[@]} -eq 0 ]
