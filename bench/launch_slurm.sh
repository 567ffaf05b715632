#!/usr/bin/env bash
# Launch wall time under Slurm (the test cluster, scripts/testcluster): hpclaunch vs bare
# srun for 16 and 64 ranks of MPI `hello` and of `true`, on 2 and 4 nodes. Every run
# measures every case in both modes, interleaved (the mode that goes first alternates
# from run to run), inside one allocation per node count and run.
#   bare:      srun -N k -n N --mpi=pmix --cpu-bind=none hello|/bin/true  (hello staged)
#   hpclaunch: hpclaunch -N k -n N --image solver.sqsh hello|true
# Usage: bench/launch_slurm.sh [RUNS]   (default 5). Needs the test cluster up with at
# least 4 nodes; runs the jobs as its test user (from root) or as yourself. Writes CSV
# to bench/results/<date>/launch_slurm.csv and prints medians and ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
BUILD=$PWD/build
TC_ENV=${HPCL_TESTCLUSTER_DIR:-/var/lib/hpclaunch-testcluster}/env
[ -r "$TC_ENV" ] || { echo "launch_slurm: the test cluster is down: run scripts/testcluster up" >&2; exit 1; }
# shellcheck disable=SC1090
source "$TC_ENV"
[ "${HPCL_TESTCLUSTER_NODES:-0}" -ge 4 ] || { echo "launch_slurm: needs 4 nodes: scripts/testcluster up 4" >&2; exit 1; }
for f in hpclaunch hpclaunch-node hpclaunch-join hpclaunch-import examples/hello examples/solver.sqsh; do
  [ -r "$BUILD/$f" ] || { echo "launch_slurm: $BUILD/$f missing: build first" >&2; exit 1; }
done
OUT=bench/results/$(date +%Y-%m-%d)
mkdir -p "$OUT"
CSV=$OUT/launch_slurm.csv

# Staged in /tmp (every fake node sees it) where the job user can read it.
S=$(mktemp -d /tmp/hlbench.XXXXXX)
chmod 755 "$S"
mkdir "$S/bin"
cp "$BUILD/hpclaunch" "$BUILD/hpclaunch-node" "$BUILD/hpclaunch-join" "$BUILD/hpclaunch-import" "$BUILD/examples/hello" "$S/bin/"
cp "$BUILD/examples/solver.sqsh" "$S/"
JOB_NAME=hlbench-$(basename "$S")
if [ "$(id -u)" = 0 ]; then
  USER_NAME=${HPCL_TESTCLUSTER_USER:-hltest}
  chown -R "$USER_NAME:" "$S"
  AS=(runuser -u "$USER_NAME" --)
else
  USER_NAME=$(id -un)
  AS=()
fi
cleanup() {
  env SLURM_CONF="$SLURM_CONF" scancel -u "$USER_NAME" -n "$JOB_NAME" 2>/dev/null || true
  rm -rf "$S"
}
trap cleanup EXIT

# One run on one allocation: every (ranks, app) case in both modes; appends CSV lines.
cat >"$S/cases.sh" <<EOF
#!/bin/bash
nodes=\$1 run=\$2
first=bare second=hpclaunch
[ \$((run % 2)) = 0 ] && first=hpclaunch second=bare
for ranks in 16 64; do
  for app in true hello; do
    for mode in \$first \$second; do
      if [ "\$mode" = bare ]; then
        prog=/bin/true; [ "\$app" = hello ] && prog=$S/bin/hello
        cmd=(srun -N "\$nodes" -n "\$ranks" --mpi=pmix --cpu-bind=none --quiet "\$prog")
      else
        cmd=($S/bin/hpclaunch -N "\$nodes" -n "\$ranks" --image $S/solver.sqsh "\$app")
      fi
      start=\$(date +%s.%N)
      if ! "\${cmd[@]}" >$S/last.out 2>&1; then
        echo "launch_slurm: failed: \${cmd[*]}" >&2; tail -n 20 $S/last.out >&2; exit 1
      fi
      end=\$(date +%s.%N)
      echo "\$app,\$nodes,\$ranks,\$mode,\$run,\$(awk -v a="\$start" -v b="\$end" 'BEGIN { printf "%.4f", b - a }')" >>$S/results.csv
    done
  done
done
EOF
chmod 755 "$S/cases.sh"
[ ${#AS[@]} -gt 0 ] && chown "$USER_NAME:" "$S/cases.sh"

echo "launch_slurm: $RUNS runs x (2, 4 nodes) x (16, 64 ranks) x (true, hello) x (bare, hpclaunch)"
for run in $(seq 1 "$RUNS"); do
  for nodes in 2 4; do
    (cd "$S" && "${AS[@]}" env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$(getent passwd "$USER_NAME" | cut -d: -f6)" \
      SLURM_CONF="$SLURM_CONF" OMPI_MCA_oob_tcp_if_include="$OMPI_MCA_oob_tcp_if_include" \
      OMPI_MCA_btl_tcp_if_include="$OMPI_MCA_btl_tcp_if_include" OMPI_MCA_plm_slurm_args=--overlap \
      OMPI_MCA_mpi_yield_when_idle=1 \
      timeout -k 5 600 salloc -Q -J "$JOB_NAME" -N "$nodes" --ntasks-per-node=32 -t 15 "$S/cases.sh" "$nodes" "$run") ||
      { echo "launch_slurm: run $run on $nodes nodes failed" >&2; exit 1; }
  done
  echo "  run $run done"
done
{ echo "app,nodes,ranks,mode,run,seconds"; cat "$S/results.csv"; } >"$CSV"

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
printf "%-6s %5s %5s %10s %12s %7s\n" app nodes ranks bare_s hpclaunch_s ratio
for app in true hello; do
  for nodes in 2 4; do
    for ranks in 16 64; do
      b=$(awk -F, -v a="$app" -v n="$nodes" -v r="$ranks" '$1 == a && $2 == n && $3 == r && $4 == "bare" { print $6 }' "$CSV" | median)
      h=$(awk -F, -v a="$app" -v n="$nodes" -v r="$ranks" '$1 == a && $2 == n && $3 == r && $4 == "hpclaunch" { print $6 }' "$CSV" | median)
      printf "%-6s %5s %5s %10.3f %12.3f %7.2f\n" "$app" "$nodes" "$ranks" "$b" "$h" "$(awk -v b="$b" -v h="$h" 'BEGIN { print h / b }')"
    done
  done
done
echo "CSV: $CSV (medians of $RUNS runs; one Slurm allocation per node count and run)"
