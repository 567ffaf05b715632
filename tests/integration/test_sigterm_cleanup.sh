#!/usr/bin/env bash
# SIGTERM to hpclaunch mid-run stops the whole job: no rank, holder, FUSE
# connection, rendezvous socket or staging dir is left.
source "$(dirname "$0")/lib.sh"
baseline=$(fuse_connections)
(cd "$WORK" && exec "${RUN_AS[@]}" env OMPI_MCA_mpi_yield_when_idle=1 "$HPCLAUNCH" -n 4 --image "$IMAGE" \
  solver --steps 100000000 --report 1000000 >"$WORK/out" 2>&1) &
launcher=$!
# Whatever fails below, the job must not outlive the test.
trap 'kill -TERM "$launcher" 2>/dev/null || true; pkill -TERM -u "$TEST_USER" -f "$HPCLAUNCH" 2>/dev/null || true; cleanup_work' EXIT
for i in $(seq 1 100); do  # wait until all 4 ranks run in the container
  [ "$(pgrep -u "$TEST_USER" -x solver | wc -l)" -ge 4 ] && break
  sleep 0.1
done
[ "$(pgrep -u "$TEST_USER" -x solver | wc -l)" -ge 4 ] || fail "the solver did not start: $(cat "$WORK/out")"
[ "$(fuse_connections)" -gt "$baseline" ] || fail "no FUSE connection while running"
front=$(pgrep -u "$TEST_USER" -f "^$HPCLAUNCH -n 4" | head -n 1)
kill -TERM "$front"
set +e
wait "$launcher"; code=$?
set -e
expect_eq 143 "$code" "exit code after SIGTERM"
for i in $(seq 1 50); do pgrep -u "$TEST_USER" -x solver >/dev/null || break; sleep 0.1; done
pgrep -u "$TEST_USER" -x solver && fail "solver ranks left running"
expect_no_leftovers "$baseline"
echo PASS
