#!/usr/bin/env bash
# 50 launches of 4 ranks of /bin/true in a row all succeed and leave nothing.
source "$(dirname "$0")/lib.sh"
baseline=$(fuse_connections)
failures=0
start=$(date +%s.%N)
for i in $(seq 1 50); do
  hl -n 4 --image "$IMAGE" true || failures=$((failures + 1))
done
end=$(date +%s.%N)
expect_eq 0 "$failures" "failed launches out of 50"
expect_no_leftovers "$baseline"
echo "PASS (50 launches, $(awk -v a="$start" -v b="$end" 'BEGIN{printf "%.2f", (b-a)/50}') s each)"
