#!/usr/bin/env bash
# Launch wall time of hpclaunch vs bare mpirun on this machine (same run,
# interleaved), and 64 MiB CMA pingpong bandwidth in the container vs bare.
# Usage: bench/launch_local.sh [RUNS]   (default 10). Writes CSV under
# bench/results/<date>/ and prints medians and ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-10}
BUILD=$PWD/build
IMAGE=$BUILD/examples/solver.sqsh
OUT=bench/results/$(date +%Y-%m-%d)
mkdir -p "$OUT"
CSV=$OUT/launch_local.csv
ROOT_ARGS=()
[ "$(id -u)" = 0 ] && ROOT_ARGS=(--allow-run-as-root)
export OMPI_MCA_mpi_yield_when_idle=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

seconds() {  # command... -> wall seconds
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null 2>&1 || { echo "benchmark command failed: $*" >&2; exit 1; }
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.4f\n", b - a }'
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "case,mode,run,seconds" >"$CSV"
declare -A cmd
cmd[true,bare]="mpirun ${ROOT_ARGS[*]} --oversubscribe --bind-to none -n 4 /bin/true"
cmd[true,hpclaunch]="$BUILD/hpclaunch -n 4 --image $IMAGE true"
cmd[hello,bare]="mpirun ${ROOT_ARGS[*]} --oversubscribe --bind-to none -n 4 $BUILD/examples/hello"
cmd[hello,hpclaunch]="$BUILD/hpclaunch -n 4 --image $IMAGE hello"
for run in $(seq 1 "$RUNS"); do
  for case in true hello; do
    for mode in bare hpclaunch; do
      # shellcheck disable=SC2086
      echo "$case,$mode,$run,$(seconds ${cmd[$case,$mode]})" >>"$CSV"
    done
  done
done

printf "%-8s %10s %10s %7s\n" case bare_s hpclaunch_s ratio
for case in true hello; do
  b=$(grep "^$case,bare," "$CSV" | cut -d, -f4 | median)
  h=$(grep "^$case,hpclaunch," "$CSV" | cut -d, -f4 | median)
  printf "%-8s %10.3f %10.3f %7.2f\n" "$case" "$b" "$h" "$(awk -v b="$b" -v h="$h" 'BEGIN { print h / b }')"
done

PCSV=$OUT/pingpong_local.csv
echo "mode,run,bandwidth_MBps_64MiB" >"$PCSV"
for run in 1 2 3; do
  bare=$(mpirun "${ROOT_ARGS[@]}" --oversubscribe --bind-to none -n 2 \
    -x OMPI_MCA_btl_vader_single_copy_mechanism=cma "$BUILD/examples/pingpong" | grep '^pingpong: max_size' | cut -d= -f3)
  cont=$("$BUILD/hpclaunch" -n 2 --image "$IMAGE" --env OMPI_MCA_btl_vader_single_copy_mechanism=cma pingpong |
    grep '^pingpong: max_size' | cut -d= -f3)
  echo "bare,$run,$bare" >>"$PCSV"
  echo "hpclaunch,$run,$cont" >>"$PCSV"
done
b=$(grep '^bare,' "$PCSV" | cut -d, -f3 | median)
h=$(grep '^hpclaunch,' "$PCSV" | cut -d, -f3 | median)
printf "pingpong 64 MiB (CMA): bare %.0f MB/s, hpclaunch %.0f MB/s, ratio %.3f\n" "$b" "$h" \
  "$(awk -v b="$b" -v h="$h" 'BEGIN { print h / b }')"
echo "CSV: $CSV $PCSV"
