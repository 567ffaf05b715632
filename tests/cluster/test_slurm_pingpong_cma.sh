#!/usr/bin/env bash
# Two ranks on one node (salloc -N1 -n2) pingpong up to 64 MiB in the container with
# CMA single-copy forced: Open MPI fails the job when CMA cannot be used (ranks in
# different user namespaces), so completing proves both ranks share the node's
# container under srun too.
source "$(dirname "$0")/lib.sh"
expect_nodes_idle
start=$(now)
set +e
as_user timeout -k 5 180 salloc -J "$JOB_NAME" -N1 -n2 -t 5 \
  "$HPCLAUNCH" --image "$IMAGE" --env OMPI_MCA_btl_vader_single_copy_mechanism=cma pingpong >"$WORK/out/pingpong" 2>&1
rc=$?
set -e
secs=$(since "$start")
out=$(cat "$WORK/out/pingpong")
[ "$rc" = 0 ] || fail "salloc -N1 -n2 hpclaunch pingpong (CMA forced): exit status $rc:"$'\n'"$out"
grep "^pingpong" <<<"$out" | tail -n 2 | sed 's/^/  /'
bw=$(sed -n 's/^pingpong: max_size=67108864 bandwidth_MBps=\([0-9.]*\)$/\1/p' <<<"$out")
[ -n "$bw" ] || fail "no 'pingpong: max_size=67108864 bandwidth_MBps=' line:"$'\n'"$out"
awk -v bw="$bw" 'BEGIN { exit !(bw > 0) }' || fail "64 MiB bandwidth $bw is not > 0"
if grep -n 'PMIX ERROR\|different user namespaces' <<<"$out"; then fail "PMIx or namespace errors in the output (above)"; fi
echo "PASS (64 MiB with CMA: $bw MB/s; ${secs} s)"
