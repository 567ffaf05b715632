#!/usr/bin/env bash
# A node step killed by a signal before the containers are ready (Open MPI 4.1.4
# segfaults in MPI_Init now and then under load) is started once more: the ranks,
# still waiting to join, run in the new containers and the launch succeeds with a
# warning. One that dies every time (3 starts) fails the launch with its exit status;
# nothing is left.
source "$(dirname "$0")/lib.sh"
baseline=$(fuse_connections)
# The wrapper stands in for the node step's MPI rank: it dies of SIGSEGV while the
# marker file is missing (first start), and runs the node step once the marker exists.
cat >"$WORK/crash-once" <<'WRAP'
#!/bin/sh
marker=$(dirname "$0")/crashed
if [ ! -e "$marker" ] || [ -e "$marker.always" ]; then touch "$marker"; kill -SEGV $$; fi
exec "$@"
WRAP
chmod 755 "$WORK/crash-once"
# A hostfile keeps the node step (one machine alone needs none).
echo "localhost slots=16" >"$WORK/hosts"
[ "$(id -u)" = 0 ] && chown "$TEST_USER" "$WORK"/crash-once

launch() {  # sets out and code
  set +e
  out=$(cd "$WORK" && "${RUN_AS[@]}" env HPCLAUNCH_NODE_STEP_WRAPPER="$WORK/crash-once" \
    OMPI_MCA_mpi_yield_when_idle=1 timeout 120 "$HPCLAUNCH" -n 4 --hostfile "$WORK/hosts" --image "$IMAGE" hello 2>&1)
  code=$?
  set -e
}

launch
expect_eq 0 "$code" "launch after one node-step crash (output: $out)"
expect_eq 4 "$(grep -c '^hello rank=' <<<"$out")" "rank lines after the restart"
grep -q "warning: the node step died (SIGSEGV.*); starting it again" <<<"$out" ||
  fail "no restart warning in: $out"
[ -e "$WORK/crashed" ] || fail "the wrapper never ran"
expect_no_leftovers "$baseline"

touch "$WORK/crashed.always"
[ "$(id -u)" = 0 ] && chown "$TEST_USER" "$WORK"/crashed*
launch
expect_eq 139 "$code" "launch whose node step crashes every time"
expect_eq 2 "$(grep -c "starting it again" <<<"$out")" "restarts"
grep -q '^hello rank=' <<<"$out" && fail "ranks ran without a container: $out"
grep -q "error: the node step died (SIGSEGV.*); started 3 times" <<<"$out" || fail "no node-step failure message in: $out"
expect_no_leftovers "$baseline"

echo PASS
