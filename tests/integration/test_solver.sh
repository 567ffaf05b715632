#!/usr/bin/env bash
# The example solver runs 200 steps on 4 ranks and its residual falls.
source "$(dirname "$0")/lib.sh"
out=$(hl -n 4 --image "$IMAGE" solver --steps 200)
echo "$out" | tail -n 3
first=$(grep -m1 -o '^step=[0-9]* residual=[0-9.e+-]*' <<<"$out" | cut -d= -f3)
last=$(grep -o '^solver: ranks=4 steps=200 .*residual=[0-9.e+-]*' <<<"$out" | grep -o 'residual=[0-9.e+-]*' | cut -d= -f2)
[ -n "$first" ] && [ -n "$last" ] || fail "missing residual lines"
awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < a) }' || fail "residual did not fall: $first -> $last"
echo "PASS (residual $first -> $last)"
