#!/usr/bin/env bash
# Two ranks in the shared container pingpong up to 64 MiB with CMA forced:
# Open MPI fails the job if CMA cannot be used (ranks in different user
# namespaces), so completing proves single-copy works in the container.
source "$(dirname "$0")/lib.sh"
out=$(hl -n 2 --image "$IMAGE" --env OMPI_MCA_btl_vader_single_copy_mechanism=cma pingpong)
echo "$out" | tail -n 4
bw=$(grep -o '^pingpong: max_size=67108864 bandwidth_MBps=[0-9.]*' <<<"$out" | cut -d= -f3)
[ -n "$bw" ] || fail "no 64 MiB bandwidth line"
awk -v bw="$bw" 'BEGIN { exit !(bw > 0) }' || fail "bandwidth $bw is not > 0"
echo "PASS (64 MiB: $bw MB/s)"
