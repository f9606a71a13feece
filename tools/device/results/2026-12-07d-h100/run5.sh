#!/usr/bin/env bash
# Session script 5 (2026-12-07, fourth session). In one call: (1) Adam-mini's fp8 moment, main (the folder's build,
# `dotnet fsi build.fsx device-prep`) against exp2 (exp2/ holds S3gd.*.dll and s3gd.dll of main with the encode's
# instruction cuts: the amax as maximumNumber of |m|, one redux.sync per half warp, the flushed test as two ordered
# comparisons), two runs each; (2) SASS of each build's WholeBlock and Whole (ptxas, cuobjdump) with an opcode
# histogram; (3) ncu of each build's WholeBlock (64M) and Whole (GPT-2); (4) verify on exp2 with the time left of BUDGET.
# Run: cd artifacts/device && BUDGET=300 bash run5.sh
source "$(dirname "$0")/prelude.sh"
start=$(date +%s)
t() { echo "t=$(( $(date +%s) - start ))"; }
log="$out/bench.log"
nvidia-smi -L > "$log" 2>&1
exp2="$(mktemp -d)"; cp -r "$work/." "$exp2/"; cp "$work/exp2/"* "$exp2/"; chmod +x "$exp2/s3gd"
mini="--rule adam-mini --state-dtype fp8e4m3"
b() { local bin=$1; shift; echo "== $bin $* $(t)" >> "$log"; timeout 60 "$bin/s3gd" bench --backend cuda --sizes 64M --iterations 30 "$@" 2>&1 | grep -v "^bench:\|^wrote\|^backend" >> "$log"; }
for k in 1 2; do b "$work" $mini --out "$(mktemp -d)"; b "$exp2" $mini --out "$(mktemp -d)"; done
sass="$(mktemp -d)/sass"; mkdir -p "$sass"
for pair in "main:$work" "exp2:$exp2"; do
  name="${pair%%:*}"; bin="${pair#*:}"
  d="$(mktemp -d)"; S3GD_PTX_DIR="$d" timeout 60 "$bin/s3gd" bench --backend cuda --sizes 1M --iterations 2 $mini --out "$(mktemp -d)" > /dev/null 2>&1
  for f in "$d"/*.ptx; do
    k=$(grep -m1 -oE "\.entry [A-Za-z_]+" "$f" | cut -d' ' -f2)
    case "$k" in Kernel_WholeBlock|Kernel_Whole|Kernel_Update) ;; *) continue;; esac
    cp "$f" "$sass/$name-$k.ptx"
    /usr/local/cuda/bin/ptxas -v -arch=sm_90 "$f" -o "$sass/$name-$k.cubin" >> "$sass/ptxas.log" 2>&1
    /usr/local/cuda/bin/cuobjdump -sass "$sass/$name-$k.cubin" > "$sass/$name-$k.sass" 2>&1
    n=$(grep -cE '^\s+/\*[0-9a-f]{4}\*/' "$sass/$name-$k.sass")
    echo "sass $name $k: $n instructions; $(grep -E 'Used' "$sass/ptxas.log" | tail -1)" >> "$log"
    grep -E '^\s+/\*[0-9a-f]{4}\*/' "$sass/$name-$k.sass" | sed -E 's#^\s+/\*[0-9a-f]+\*/\s+(@!?U?P[0-9T] )?##' | awk '{print $1}' | cut -d. -f1 | sort | uniq -c | sort -rn > "$sass/$name-$k.hist"
  done
done
tar czf "$out/sass.tgz" -C "$(dirname "$sass")" sass
metrics=gpu__time_duration.sum,dram__bytes_read.sum,dram__bytes_write.sum,smsp__inst_executed.sum,smsp__thread_inst_executed.sum,launch__registers_per_thread,sm__warps_active.avg.pct_of_peak_sustained_active,smsp__issue_active.avg.pct_of_peak_sustained_active,dram__throughput.avg.pct_of_peak_sustained_elapsed,launch__grid_size,smsp__average_warp_latency_issue_stalled_barrier,smsp__average_warp_latency_issue_stalled_long_scoreboard
for pair in "main:$work" "exp2:$exp2"; do
  name="${pair%%:*}"; bin="${pair#*:}"
  echo "== ncu $name $(t)" >> "$log"
  timeout 120 ncu --clock-control none --csv --metrics "$metrics" --kernel-name regex:Kernel_Whole --launch-skip 4 --launch-count 4 \
    "$bin/s3gd" bench --backend cuda --sizes 64M --iterations 3 $mini --out "$(mktemp -d)" > "$out/ncu-$name.csv" 2>> "$log"
done
left=$(( ${BUDGET:-300} - ($(date +%s) - start) ))
seed=$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')
echo "== verify (exp2) seed $seed, $left s left $(t)" >> "$log"
timeout "$left" "$exp2/s3gd" verify --backend cuda --seed "$seed" --max-test 4 --check adam-mini --check "structured CPU twin" --check forced > "$out/verify.log" 2>&1
tail -15 "$out/verify.log" >> "$log"
echo "done $(t)" >> "$log"
