#!/usr/bin/env bash
# Processes of a launch killed with -9 mid-job (issue 9, points 6 and 10):
# (a) the node step: its holders keep serving, the ranks finish, hpclaunch says
#     what happened and does not start the node step again; (b) the front end:
#     holders and ranks are gone within 15 s; (c) the app step's mpirun: the
#     orphaned ranks are stopped, hpclaunch exits non-zero. Nothing is left.
# A hostfile keeps the node step (one machine alone needs none).
source "$(dirname "$0")/lib.sh"
baseline=$(fuse_connections)
echo "localhost slots=16" >"$WORK/hosts"
[ "$(id -u)" = 0 ] && chown "$TEST_USER" "$WORK/hosts"
STEPS=30000

start_solver() {  # in the background: $launcher, output in $WORK/out
  (cd "$WORK" && exec "${RUN_AS[@]}" env OMPI_MCA_mpi_yield_when_idle=1 timeout 120 "$HPCLAUNCH" -n 4 \
    --hostfile "$WORK/hosts" --image "$IMAGE" solver --steps "$STEPS" --report 10000 >"$WORK/out" 2>&1) &
  launcher=$!
  for i in $(seq 1 150); do
    [ "$(pgrep -u "$TEST_USER" -x solver | wc -l)" -ge 4 ] && return 0
    sleep 0.1
  done
  fail "the solver did not start: $(cat "$WORK/out")"
}
trap 'kill -KILL "${launcher:-0}" 2>/dev/null || true; pkill -KILL -u "$TEST_USER" -x solver 2>/dev/null || true; pkill -KILL -u "$TEST_USER" -f "$WORK/bin/hpclaunch" 2>/dev/null || true; cleanup_work' EXIT

ranks_gone_within() {  # SECONDS
  local i
  for i in $(seq 1 $(($1 * 10))); do
    pgrep -u "$TEST_USER" -x solver >/dev/null || pgrep -u "$TEST_USER" -f "$WORK/bin/hpclaunch-node" >/dev/null || return 0
    sleep 0.1
  done
  fail "ranks or holders still run $1 s later: $(pgrep -u "$TEST_USER" -af "solver|hpclaunch")"
}

echo "(a) kill -9 of the node step"
start_solver
pkill -KILL -u "$TEST_USER" -f "$WORK/bin/hpclaunch-node step"
set +e
wait "$launcher"
code=$?
set -e
cat "$WORK/out"
expect_eq 0 "$code" "exit status after the node step was killed"
grep -q "^solver: ranks=4 steps=$STEPS " "$WORK/out" || fail "the solver did not finish"
grep -q "warning: the node step died (.*) after every container was ready; the holders go on serving the ranks" \
  "$WORK/out" || fail "no warning about the node step"
grep -q "starting it again" "$WORK/out" && fail "the node step was started again mid-job"
grep -qi "transport endpoint\|bus error" "$WORK/out" && fail "ranks lost their container"
expect_no_leftovers "$baseline"

echo "(b) kill -9 of the front end"
start_solver
kill -KILL "$(pgrep -u "$TEST_USER" -f "^$HPCLAUNCH -n 4" | head -n 1)"
ranks_gone_within 15
expect_no_leftovers "$baseline"

echo "(c) kill -9 of the app step's mpirun"
start_solver
pkill -KILL -u "$TEST_USER" -f "^mpirun .*-n 4 .*hpclaunch-join"
set +e
wait "$launcher"
code=$?
set -e
cat "$WORK/out"
[ "$code" != 0 ] || fail "hpclaunch exited 0 after its app step was killed"
ranks_gone_within 15
expect_no_leftovers "$baseline"
echo PASS
