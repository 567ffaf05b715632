#!/usr/bin/env bash
# A job that ends abnormally leaves nothing on any node: (a) scancel of a running job,
# (b) the job hits its time limit (sbatch -t 1: ~1-1.5 min), (c) kill -9 of one rank on
# another node than rank 0's. Each time a long solver runs as 8 ranks on 4 nodes; after
# the job has ended: no process of the job on any node (zombies aside), no rendezvous
# socket in any node's network namespace, FUSE connections back to the baseline, no
# /tmp/hpclaunch-* or /tmp/ompi.hpclaunch-* dir, every node idle (none drained).
# (d) scancel of a job in companion mode (`srun hpclaunch exec`): its daemon holders,
# which outlive the tasks by design, must go too.
source "$(dirname "$0")/lib.sh"
write_job long.sh <<EOF
#!/bin/bash
"$HPCLAUNCH" --image "$IMAGE" solver --steps 100000000 --report 1000000
echo "hpclaunch-exit=\$?"
EOF
write_job long-companion.sh <<EOF
#!/bin/bash
srun -n 8 "$HPCLAUNCH" exec --image "$IMAGE" solver --steps 100000000 --report 1000000
echo "srun-exit=\$?"
EOF

# PIDs of the job's live processes with this command name
job_pids_named() {  # JOBID NAME
  job_processes "$1" | while read -r pid _; do
    if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ]; then echo "$pid"; fi
  done
}

# Submits the long solver (sbatch options in "$@"; LONG_SCRIPT picks the job script),
# waits until its 8 ranks run; sets JOB, BASELINE, FUSE_IDS (its FUSE connections) and
# a fresh $WORK/stamp.
start_long_job() {
  expect_nodes_idle
  BASELINE=$(fuse_connections)
  touch "$WORK/stamp"
  local i n attempt deadline out
  # A rank that segfaulted in Open MPI's MPI_Init (lib.sh) ends the job early:
  # submitted once more, and said so; any other end is a failure.
  for attempt in 1 2 3; do
    JOB=$(submit -N4 -n8 --ntasks-per-node=2 -o "$WORK/out/long-%j.out" "$@" "$WORK/${LONG_SCRIPT:-long.sh}")
    n=0 deadline=$(( $(date +%s) + 90 ))
    while [ "$(date +%s)" -lt "$deadline" ]; do
      n=$(job_pids_named "$JOB" solver | wc -l)
      [ "$n" -ge 8 ] && break
      [ -n "$(sl squeue -h -j "$JOB" -o %T 2>/dev/null)" ] || break
      sleep 0.2
    done
    [ "$n" -ge 8 ] && break
    out=$(cat "$WORK/out/long-$JOB.out" 2>/dev/null || true)
    if [ -n "$(sl squeue -h -j "$JOB" -o %T 2>/dev/null)" ] || ! openmpi_init_crash "$out" || [ "$attempt" = 3 ]; then
      fail "job $JOB: the 8 solver ranks did not start (state $(job_field "$JOB" JobState), $n running):"$'\n'"$out"
    fi
    note "job $JOB: an MPI rank segfaulted in Open MPI's MPI_Init (address nil, a known Open MPI 4.1.4 race under load); submitting it once more"
  done
  FUSE_IDS=$(job_fuse_connections "$JOB")
  [ "$(wc -w <<<"$FUSE_IDS")" -ge 4 ] || fail "job $JOB: want a FUSE mount on each of the 4 nodes while it runs, found connections: '$FUSE_IDS'"
  local socks=0
  for i in $(seq 1 4); do socks=$((socks + $(node_sockets "$i" "$JOB"))); done
  [ "$socks" -gt 0 ] || fail "job $JOB: no rendezvous socket of the job in any node while it runs"
  note "job $JOB: 8 solver ranks running; FUSE connections $FUSE_IDS; $socks rendezvous sockets"
}

expect_state() {  # JOBID STATE
  local state
  state=$(job_field "$1" JobState)
  [ "$state" = "$2" ] || fail "job $1: state '$state', want $2"
}

# --- (a) scancel -------------------------------------------------------------------
echo "(a) scancel of a running job"
t0=$(now)
start_long_job -t 5
sl scancel "$JOB"
wait_job_gone "$JOB" 60
expect_state "$JOB" CANCELLED
expect_job_clean "$JOB" "$BASELINE" "$WORK/stamp" "$FUSE_IDS"
report_node_shm "after scancel" "$WORK/stamp"
note "(a) took $(since "$t0") s"

# --- (b) time limit ----------------------------------------------------------------
echo "(b) time limit (sbatch -t 1)"
t0=$(now)
start_long_job -t 1
wait_job_gone "$JOB" 180
expect_state "$JOB" TIMEOUT
expect_job_clean "$JOB" "$BASELINE" "$WORK/stamp" "$FUSE_IDS"
report_node_shm "after the time limit" "$WORK/stamp"
note "(b) took $(since "$t0") s"

# --- (c) kill -9 of one rank ---------------------------------------------------------
echo "(c) kill -9 of one rank"
t0=$(now)
start_long_job -t 5
victim=""
for pid in $(job_pids_named "$JOB" solver); do
  [ "$(node_netns "$pid")" = hpcl-node4 ] && victim=$pid && break
done
[ -n "$victim" ] || fail "job $JOB: no solver rank found on node4"
note "kill -9 of solver pid $victim on node4 (SLURM_PROCID=$(tr '\0' '\n' 2>/dev/null </proc/"$victim"/environ | sed -n 's/^SLURM_PROCID=//p'))"
kill -KILL "$victim"
wait_job_gone "$JOB" 60
out=$(cat "$WORK/out/long-$JOB.out" 2>/dev/null || true)
# srun (bare too) exits 128 + the highest signal of its tasks: 137 for the killed rank,
# 143 once the others were terminated; hpclaunch passes it through.
code=$(sed -n 's/^hpclaunch-exit=//p' <<<"$out")
[ "$code" = 137 ] || [ "$code" = 143 ] ||
  fail "job $JOB: hpclaunch exit status '$code' after a rank was killed by SIGKILL, want 137 or 143 (as srun):"$'\n'"$out"
note "hpclaunch exited $code"
expect_job_clean "$JOB" "$BASELINE" "$WORK/stamp" "$FUSE_IDS"
report_node_shm "after kill -9" "$WORK/stamp"
note "(c) took $(since "$t0") s"

# --- (d) scancel in companion mode ---------------------------------------------------
echo "(d) scancel of a job in companion mode (srun -n 8 hpclaunch exec)"
t0=$(now)
LONG_SCRIPT=long-companion.sh start_long_job -t 5
sl scancel "$JOB"
wait_job_gone "$JOB" 60
expect_state "$JOB" CANCELLED
expect_job_clean "$JOB" "$BASELINE" "$WORK/stamp" "$FUSE_IDS"
report_node_shm "after scancel (companion mode)" "$WORK/stamp"
note "(d) took $(since "$t0") s"
echo PASS
