# Shared by the cluster tests (tests/cluster/test_*.sh) on the test Slurm cluster
# (scripts/testcluster up). Stages the built binaries and the example image in
# /tmp (shared by every fake node) where the test user can read them, runs Slurm
# commands as that user with the cluster's environment, names every job it
# submits so that any failure path can cancel exactly those, and checks that
# nothing of a job is left on any node.
#
# Runs as root: the checks look into every node's network and mount namespace.
set -euo pipefail

BUILD=${HPCLAUNCH_BUILD:?set by ctest (the build directory)}
SOURCE=${HPCLAUNCH_SOURCE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
TC_DIR=${HPCL_TESTCLUSTER_DIR:-/var/lib/hpclaunch-testcluster}
TC_ENV=$TC_DIR/env

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
note() { echo "  $*"; }

[ "$(id -u)" = 0 ] || fail "run as root (the checks look into every node's namespaces)"
[ -r "$TC_ENV" ] || fail "$TC_ENV missing: the test cluster is down; run 'scripts/testcluster up'"
# shellcheck disable=SC1090
source "$TC_ENV"
TEST_USER=${HPCL_TESTCLUSTER_USER:-hltest}
NODES=${HPCL_TESTCLUSTER_NODES:-4}
TEST_UID=$(id -u "$TEST_USER") || fail "test user $TEST_USER missing"
TEST_HOME=$(getent passwd "$TEST_USER" | cut -d: -f6)
for f in "$BUILD/hpclaunch" "$BUILD/hpclaunch-node" "$BUILD/examples/solver.sqsh"; do
  [ -r "$f" ] || fail "$f missing: build first (cmake --build build)"
done

WORK=$(mktemp -d /tmp/hlcluster.XXXXXX)
chmod 755 "$WORK"
mkdir -p "$WORK/bin" "$WORK/out"
cp "$BUILD/hpclaunch" "$BUILD/hpclaunch-node" "$WORK/bin/"
cp "$BUILD/examples/solver.sqsh" "$WORK/solver.sqsh"
chown -R "$TEST_USER:" "$WORK"
IMAGE=$WORK/solver.sqsh
HPCLAUNCH=$WORK/bin/hpclaunch
# Every job this test submits carries this name: cleanup cancels exactly these.
JOB_NAME=hlt-$(basename "$WORK")
BG_PIDS=()

# Slurm commands as root, for looking and cancelling only.
sl() { env SLURM_CONF="$SLURM_CONF" "$@"; }

our_jobs() { sl squeue -h -u "$TEST_USER" -n "$JOB_NAME" -o %i 2>/dev/null || true; }

cleanup_cluster_test() {
  local rc=$? pid i
  trap - EXIT
  for pid in "${BG_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  if [ -n "$(our_jobs)" ]; then
    sl scancel -u "$TEST_USER" -n "$JOB_NAME" 2>/dev/null || true
    for i in $(seq 1 60); do [ -z "$(our_jobs)" ] && break; sleep 0.5; done
    [ -n "$(our_jobs)" ] && echo "warning: jobs named $JOB_NAME still listed after scancel: $(our_jobs | tr '\n' ' ')" >&2
  fi
  for pid in "${BG_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  if [ "$rc" -ne 0 ] && [ -n "${KEEP_WORK_ON_FAIL:-}" ]; then
    echo "work dir kept: $WORK" >&2
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup_cluster_test EXIT

# The test user's environment: nothing of the caller's (no SLURM_* of an outer
# job), the cluster's SLURM_CONF and Open MPI settings. Extra KEY=VALUE words may
# precede the command.
as_user() {
  (cd "$WORK" && runuser -u "$TEST_USER" -- env -i PATH=/usr/local/bin:/usr/bin:/bin \
    HOME="$TEST_HOME" USER="$TEST_USER" LOGNAME="$TEST_USER" LANG=C.UTF-8 \
    SLURM_CONF="$SLURM_CONF" \
    OMPI_MCA_oob_tcp_if_include="$OMPI_MCA_oob_tcp_if_include" \
    OMPI_MCA_btl_tcp_if_include="$OMPI_MCA_btl_tcp_if_include" \
    OMPI_MCA_plm_slurm_args=--overlap OMPI_MCA_mpi_yield_when_idle=1 "$@")
}

# A job script in $WORK owned by the test user: write_job NAME <<'EOF' ... EOF
write_job() {
  cat >"$WORK/$1"
  chmod 755 "$WORK/$1"
  chown "$TEST_USER:" "$WORK/$1"
}

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# Submit a batch job (sbatch options then script), without waiting; prints the job id.
submit() {
  local out
  out=$(as_user sbatch --parsable -J "$JOB_NAME" "$@" 2>&1) || fail "sbatch $* failed: $out"
  echo "${out%%;*}"
}

job_field() {  # JOBID FIELD -> value from scontrol show job (empty once forgotten)
  sl scontrol show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}

# Waits until the job has left squeue (completed, cancelled, timed out; not
# COMPLETING any more). Fails after SECONDS.
wait_job_gone() {  # JOBID SECONDS
  local deadline=$(( $(date +%s) + $2 ))
  while [ -n "$(sl squeue -h -j "$1" -o %T 2>/dev/null)" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "job $1 still in squeue after $2 s: $(sl squeue -h -j "$1" -o '%T %M %R' 2>&1)"
    sleep 0.5
  done
}

node_netns() { ip netns identify "$1" 2>/dev/null || true; }  # PID -> hpcl-nodeI

# Live (not zombie: PID 1 reaps lazily here) processes of the test user that
# belong to job JOBID (SLURM_JOB_ID in their environment) or run a binary
# staged in $WORK; one line each: "PID NODE-NETNS ARGS".
job_processes() {  # JOBID
  local pid state
  for pid in $(pgrep -u "$TEST_USER" || true); do
    state=$(awk '{ s = $0; sub(/^.*\) /, "", s); split(s, f, " "); print f[1] }' "/proc/$pid/stat" 2>/dev/null) || continue
    [ -n "$state" ] && [ "$state" != Z ] || continue
    if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "SLURM_JOB_ID=$1" ||
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$WORK/"; then
      echo "$pid $(node_netns "$pid") $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-150)"
    fi
  done
}

fuse_connections() { find /sys/fs/fuse/connections -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

node_pid() { cut -d' ' -f1 "$TC_DIR/run/holder.node$1.pid"; }  # the node's namespace holder

# Abstract hpclaunch rendezvous sockets in node I's network namespace.
node_sockets() { ip netns exec "hpcl-node$1" grep -c '@hpclaunch/' /proc/net/unix || true; }

staging_dirs() {  # STAMP-FILE -> hpclaunch staging / Open MPI session dirs made since
  find /tmp -maxdepth 1 \( -name 'hpclaunch-*' -o -name 'ompi.hpclaunch-*' \) -user "$TEST_USER" \
    -newer "$1" 2>/dev/null || true
}

nodes_not_idle() { sl sinfo -h -N -o '%N %t' 2>/dev/null | awk '$2 != "idle"' | sort -u; }

# Nothing of job JOBID may be left: no process on any node, no rendezvous
# socket in any node's network namespace, FUSE connections back to BASELINE,
# no staging or session dir made since STAMP, every node idle (not drained).
# Things take a moment to go away (KillWait, lazy reaping): waits up to 15 s.
expect_job_clean() {  # JOBID FUSE-BASELINE STAMP-FILE
  local i n procs socks fuse dirs busy start
  start=$(now)
  for i in $(seq 1 150); do
    procs=$(job_processes "$1")
    socks=""
    for n in $(seq 1 "$NODES"); do
      [ "$(node_sockets "$n")" = 0 ] || socks+="node$n "
    done
    fuse=$(fuse_connections)
    dirs=$(staging_dirs "$3")
    busy=$(nodes_not_idle)
    [ -z "$procs$socks$dirs$busy" ] && [ "$fuse" -le "$2" ] && break
    sleep 0.1
  done
  [ -z "$procs" ] || fail "job $1: processes left after 15 s:"$'\n'"$procs"
  [ -z "$socks" ] || fail "job $1: rendezvous socket left in the network namespace of: $socks"$'\n'"$(for n in $(seq 1 "$NODES"); do ip netns exec "hpcl-node$n" grep '@hpclaunch/' /proc/net/unix | sed "s/^/node$n: /"; done)"
  [ "$fuse" -le "$2" ] || fail "job $1: FUSE connections left: $fuse, baseline $2"
  [ -z "$dirs" ] || fail "job $1: staging or session dirs left: $dirs"
  [ -z "$busy" ] || fail "job $1: nodes not idle after 15 s (drained?): $(tr '\n' ' ' <<<"$busy")$(sl sinfo -h -R 2>/dev/null | tr '\n' ' ')"
  note "job $1: nothing left on any node (settled in $(since "$start") s)"
}

# Node-local leftovers that belong to Open MPI/Slurm rather than hpclaunch:
# printed, not failed on.
report_node_shm() {  # label
  local n files
  for n in $(seq 1 "$NODES"); do
    files=$(nsenter -t "$(node_pid "$n")" -m find /dev/shm -mindepth 1 -maxdepth 1 -user "$TEST_USER" 2>/dev/null | tr '\n' ' ')
    [ -z "$files" ] || note "$1: node$n /dev/shm still has: $files"
  done
}

expect_nodes_idle() {
  local i busy
  for i in $(seq 1 100); do busy=$(nodes_not_idle); [ -z "$busy" ] && return 0; sleep 0.1; done
  fail "nodes not idle before the test: $(tr '\n' ' ' <<<"$busy")"
}
