#!/usr/bin/env bash
# Launches on fewer nodes than the allocation has: the node step and the app step must
# land on the same nodes (Slurm places each -N k step of an overlapping pair on the
# least loaded nodes, so the two steps drift apart unless pinned). In one 4-node
# allocation: `-N 1 -n 2`, `-N 2 -n 4`, and `-n 2` without -N (hpclaunch then uses 2
# nodes); each must run every rank in its node's container.
source "$(dirname "$0")/lib.sh"
expect_nodes_idle
write_job subset.sh <<EOF
#!/bin/bash
for args in "-N 1 -n 2" "-N 2 -n 4" "-n 2"; do
  echo "=== \$args"
  "$HPCLAUNCH" --join-timeout 15 \$args --image "$IMAGE" hello 2>&1
  echo "=== exit \$?"
done
EOF
start=$(now)
set +e
as_user timeout -k 5 300 salloc -J "$JOB_NAME" -N4 --ntasks-per-node=4 -t 5 "$WORK/subset.sh" >"$WORK/out/subset" 2>&1
rc=$?
set -e
secs=$(since "$start")
[ "$rc" = 0 ] || fail "salloc exit status $rc:"$'\n'"$(cat "$WORK/out/subset")"

# Each case is checked and reported; the test fails at the end if any failed.
failed=()
check() {  # ARGS RANKS NODES
  local block lines hosts per_node why=""
  block=$(awk -v h="=== $1" '$0 == h { on = 1; next } /^=== exit / && on { print; exit } on' "$WORK/out/subset")
  lines=$(grep '^hello rank=.* marker=hpclaunch-example-image ' <<<"$block" || true)
  hosts=$(grep -o ' host=[^ ]*' <<<"$lines" | sort -u | grep -c . || true)
  per_node=$(sed -n 's/.* host=\([^ ]*\) mntns=\([0-9]*\) userns=\([0-9]*\) .*/\1 \2 \3/p' <<<"$lines" | sort -u)
  if ! grep -qx '=== exit 0' <<<"$block"; then why="hpclaunch failed"
  elif [ "$(grep -c . <<<"$lines")" != "$2" ]; then why="want $2 hello lines from the image"
  elif [ "$hosts" != "$3" ]; then why="ranks on $hosts nodes, want $3"
  elif [ "$(grep -c . <<<"$per_node")" != "$3" ]; then why="not one container per node"
  fi
  if [ -n "$why" ]; then
    echo "hpclaunch $1 in a 4-node allocation: $why:" >&2
    sed 's/^/    | /' <<<"$block" >&2
    failed+=("hpclaunch $1 ($why)")
  else
    note "hpclaunch $1: $2 ranks on $3 node(s), one container each"
  fi
}
check "-N 1 -n 2" 2 1
check "-N 2 -n 4" 4 2
check "-n 2" 2 2
[ ${#failed[@]} = 0 ] || fail "$(printf '%s; ' "${failed[@]}")"
echo "PASS (${secs} s)"
