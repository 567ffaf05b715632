# shellcheck shell=bash
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
for f in "$BUILD/hpclaunch" "$BUILD/hpclaunch-node" "$BUILD/hpclaunch-join" "$BUILD/hpclaunch-import" "$BUILD/examples/solver.sqsh"; do
  [ -r "$f" ] || fail "$f missing: build first (cmake --build build)"
done

WORK=$(mktemp -d /tmp/hlcluster.XXXXXX)
chmod 755 "$WORK"
mkdir -p "$WORK/bin" "$WORK/out"
cp "$BUILD/hpclaunch" "$BUILD/hpclaunch-node" "$BUILD/hpclaunch-join" "$BUILD/hpclaunch-import" "$WORK/bin/"
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
  { sl scontrol show job "$1" 2>/dev/null || true; } | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
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
  local files=() pid state
  for pid in $(pgrep -u "$TEST_USER" || true); do files+=("/proc/$pid/environ"); done
  [ ${#files[@]} -gt 0 ] || return 0
  { grep -lzx "SLURM_JOB_ID=$1" "${files[@]}" 2>/dev/null || true
    grep -lzF "$WORK/" "${files[@]/%environ/cmdline}" 2>/dev/null || true; } |
    sed 's|^/proc/||; s|/.*||' | sort -un | while read -r pid; do
      state=$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$pid/status" 2>/dev/null)
      [ -n "$state" ] && [ "$state" != Z ] || continue
      echo "$pid $(node_netns "$pid") $(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | cut -c1-150)"
    done
}

fuse_connections() { find /sys/fs/fuse/connections -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

# "PID CONNECTION" for every process that holds /dev/fuse open (a FUSE server): the
# connection number (its name under /sys/fs/fuse/connections) from the fd's fdinfo.
fuse_servers() {
  local fd pid
  { find /proc/[0-9]*/fd -maxdepth 1 -lname /dev/fuse 2>/dev/null || true; } | while read -r fd; do
    pid=${fd#/proc/}; pid=${pid%%/*}
    sed -n "s/^fuse_connection:[[:space:]]*/$pid /p" "/proc/$pid/fdinfo/${fd##*/}" 2>/dev/null || true
  done | sort -u
}

# FUSE connections served by the processes of job JOBID now (its holders).
job_fuse_connections() {  # JOBID
  local pids
  pids=" $(job_processes "$1" | cut -d' ' -f1 | tr '\n' ' ') "
  fuse_servers | while read -r pid conn; do
    if [[ $pids == *" $pid "* ]]; then echo "$conn"; fi
  done | sort -u | tr '\n' ' '
}

node_pid() { cut -d' ' -f1 "$TC_DIR/run/holder.node$1.pid"; }  # the node's namespace holder

# The test user's private runtime dir; /tmp is shared by the fake nodes, so
# every node's launch dirs are there: <group>/nodeI/ (common/private_dir.hpp).
RUNTIME_DIR=/tmp/hpclaunch-$TEST_UID

# hpclaunch rendezvous sockets of node I (those of job JOBID only, if given:
# in l-JOBID.NONCE/ for a front-end launch, x-JOBID.STEP/ in companion mode).
node_sockets() {  # I [JOBID]
  local groups='*'
  [ -n "${2:-}" ] && groups="[lx]-$2.*"
  # shellcheck disable=SC2086
  find "$RUNTIME_DIR"/$groups/"node$1" -maxdepth 1 -type s -name 'rendezvous*' 2>/dev/null | wc -l
}
runtime_listing() { find "$RUNTIME_DIR" -mindepth 1 2>/dev/null | head -n 40; }

staging_dirs() {  # STAMP-FILE -> hpclaunch launch dirs (sockets, staging, Open MPI session dirs) made since
  find "$RUNTIME_DIR" -mindepth 1 -maxdepth 1 -newer "$1" 2>/dev/null || true
}

node_states() { sl sinfo -h -N -o '%N %t' 2>/dev/null || echo "sinfo failed"; }
nodes_not_idle() { node_states | awk '$2 != "idle"' | sort -u; }
nodes_drained() { node_states | awk '$2 ~ /drain|drng|down|fail|maint|inval|unk/ || NF != 2' | sort -u; }
# Jobs on the cluster that are not this test's (someone else uses the cluster now).
other_jobs() { sl squeue -h -o '%i %j %u' 2>/dev/null | awk -v n="$JOB_NAME" '$2 != n' || true; }

# Nothing of job JOBID may be left: no process on any node, no rendezvous socket of
# the job in any node's network namespace, none of the job's FUSE connections
# (FUSE-IDS, from job_fuse_connections while it ran) left unless a FUSE server of
# another job has that number now, no node drained or down. When the cluster is ours
# alone, also: no hpclaunch socket at all, FUSE connections back to BASELINE, no
# staging or session dir made since STAMP, every node idle. Things take a moment to
# go away (KillWait, lazy reaping): waits up to 20 s.
expect_job_clean() {  # JOBID FUSE-BASELINE STAMP-FILE [FUSE-IDS]
  local n procs socks fuse_left conn servers others allsocks fuse dirs busy drained start deadline
  start=$(now)
  deadline=$(( $(date +%s) + 20 ))
  while :; do
    procs=$(job_processes "$1")
    socks=""
    for n in $(seq 1 "$NODES"); do
      [ "$(node_sockets "$n" "$1")" = 0 ] || socks+="node$n "
    done
    fuse_left=""
    if [ -n "${4:-}" ]; then
      servers=$(fuse_servers)
      for conn in $4; do
        [ -e "/sys/fs/fuse/connections/$conn" ] || continue
        # the number reused by a FUSE server of another job: not ours
        # (no 'producer | grep -q' here: with pipefail the producer's SIGPIPE fails it)
        reused=""
        for pid in $(awk -v c="$conn" '$2 == c { print $1 }' <<<"$servers"); do
          penv=$(tr '\0' '\n' 2>/dev/null <"/proc/$pid/environ" || true)
          grep -q "^SLURM_JOB_ID=" <<<"$penv" && ! grep -qx "SLURM_JOB_ID=$1" <<<"$penv" && reused=1
        done
        [ -n "$reused" ] || fuse_left+="$conn "
      done
    fi
    drained=$(nodes_drained)
    others=$(other_jobs)
    allsocks="" dirs="" busy="" fuse=0
    if [ -z "$others" ]; then
      for n in $(seq 1 "$NODES"); do
        [ "$(node_sockets "$n")" = 0 ] || allsocks+="node$n "
      done
      fuse=$(fuse_connections)
      dirs=$(staging_dirs "$3")
      busy=$(nodes_not_idle)
    fi
    [ -z "$procs$socks$fuse_left$drained$allsocks$dirs$busy" ] && [ "$fuse" -le "$2" ] && break
    [ "$(date +%s)" -lt "$deadline" ] || break
    sleep 0.2
  done
  [ -z "$procs" ] || fail "job $1: processes left after $(since "$start") s:"$'\n'"$procs"
  [ -z "$socks" ] || fail "job $1: its rendezvous socket left on: $socks"$'\n'"$(runtime_listing)"
  [ -z "$fuse_left" ] || fail "job $1: its FUSE connections still exist, mounted by no other job: $fuse_left"
  [ -z "$drained" ] || fail "job $1: nodes drained or down: $(tr '\n' ' ' <<<"$drained")$(sl sinfo -h -R 2>/dev/null | tr '\n' ' ')"
  if [ -n "$others" ]; then
    note "job $1: nothing of it left (settled in $(since "$start") s); other jobs on the cluster ($(awk '{ print $1 }' <<<"$others" | tr '\n' ' ')), so the cluster-wide checks (FUSE count, any socket, staging dirs, all idle) were skipped"
    return 0
  fi
  [ -z "$allsocks" ] || fail "job $1: hpclaunch rendezvous sockets left on: $allsocks"$'\n'"$(runtime_listing)"
  [ "$fuse" -le "$2" ] || fail "job $1: FUSE connections left: $fuse, baseline $2 ($(ls /sys/fs/fuse/connections | tr '\n' ' '))"
  [ -z "$dirs" ] || fail "job $1: staging or session dirs left: $dirs"
  [ -z "$busy" ] || fail "job $1: nodes not idle after $(since "$start") s: $(tr '\n' ' ' <<<"$busy")"
  note "job $1: nothing left on any node (settled in $(since "$start") s)"
}

# Node-local leftovers that belong to Open MPI/Slurm rather than hpclaunch: files of
# the test user in each node's private /dev/shm made since STAMP; printed, not failed on.
report_node_shm() {  # label STAMP-FILE
  local n files
  for n in $(seq 1 "$NODES"); do
    files=$({ nsenter -t "$(node_pid "$n")" -m find /dev/shm -mindepth 1 -maxdepth 1 -user "$TEST_USER" -newer "$2" 2>/dev/null || true; } | tr '\n' ' ')
    [ -z "$files" ] || note "$1: node$n /dev/shm has new files of $TEST_USER$([ -n "$(other_jobs)" ] && echo " (other jobs run: maybe theirs)"): $files"
  done
  return 0
}

# Open MPI 4.1.4 sometimes segfaults inside MPI_Init under load on these 2 cores (a NULL
# call in btl_tcp while MPI_Init progresses; hpclaunch restarts its own node step when it
# hits there). In an app rank nothing can restart it, bare or contained: a test runs such
# a job once more, and says so.
openmpi_init_crash() {  # JOB-OUTPUT -> true when it shows that crash
  grep -q 'Signal: Segmentation fault (11)' <<<"$1" && grep -q 'Failing at address: (nil)' <<<"$1"
}

# as_user ARGS... for `sbatch --wait -o "$WORK/out/NAME-%j.out"`, run once more after
# Open MPI's MPI_Init crash, or after srun died of SIGPIPE (exit 141: it lost its
# connection to a slurmd or slurmstepd, which Slurm 22.05 here has done by crashing with
# heap corruption), up to 3 runs in all; sets rc and job_out (the job's output).
sbatch_wait() {  # NAME AS_USER-ARGS...
  local name=$1 attempt
  shift
  for attempt in 1 2 3; do
    rm -f "$WORK/out/$name"-*.out
    set +e
    as_user "$@" >"$WORK/sbatch.out" 2>&1
    rc=$?
    set -e
    job_out=$(cat "$WORK/out/$name"-*.out 2>/dev/null || true)
    [ "$rc" != 0 ] && [ "$attempt" -lt 3 ] || return 0
    if openmpi_init_crash "$job_out"; then
      note "$name job: an MPI rank segfaulted in Open MPI's MPI_Init (address nil, a known Open MPI 4.1.4 race under load); running it once more"
    elif [ "$rc" = 141 ]; then
      note "$name job: exit status 141 (srun killed by SIGPIPE: a Slurm daemon went away; $("$SOURCE/scripts/testcluster" status 2>&1 | head -n 1)); running it once more"
      "$SOURCE/scripts/testcluster" status >/dev/null 2>&1 || "$SOURCE/scripts/testcluster" up "$NODES" >/dev/null
    else
      return 0
    fi
  done
}

# Before a test: no node drained or down; waits up to 10 s for the nodes to be idle,
# but goes on (jobs share nodes here) when someone else's jobs keep them busy.
expect_nodes_idle() {
  local i drained
  # A daemon that died under an earlier test (slurmd 22.05 has crashed here with
  # "malloc(): memory corruption") would fail every later test: bring it back.
  if ! "$HPCLAUNCH_SOURCE/scripts/testcluster" status >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    note "test cluster unhealthy: $("$HPCLAUNCH_SOURCE/scripts/testcluster" status 2>&1); restarting it"
    "$HPCLAUNCH_SOURCE/scripts/testcluster" up "${HPCL_TESTCLUSTER_NODES:-4}" >/dev/null
  fi
  drained=$(nodes_drained)
  [ -z "$drained" ] || fail "nodes drained or down before the test: $(tr '\n' ' ' <<<"$drained")$(sl sinfo -h -R 2>/dev/null | tr '\n' ' ')"
  for i in $(seq 1 50); do [ -z "$(nodes_not_idle)" ] && return 0; sleep 0.2; done
  note "nodes busy with other jobs: $(other_jobs | awk '{ print $1 }' | tr '\n' ' ')(going on: jobs share nodes)"
}
