#!/usr/bin/env bash
# --dry-run prints the plan (both steps, mounts, env) and runs nothing;
# --json makes it machine-readable; --help shows examples; version works.
source "$(dirname "$0")/lib.sh"
out=$(hl --dry-run -n 8 --image "$IMAGE" --mount /opt:/opt:ro solver --steps 5)
echo "$out"
grep -q "^node step: none (the only node is this one" <<<"$out" || fail "a node step on one machine"
grep -q "^app step:  mpirun .*-n 8 .*/hpclaunch-join -- solver --steps 5$" <<<"$out" || fail "no app step"
grep -q "/opt -> /opt ro" <<<"$out" || fail "no --mount in the plan"
# With a hostfile the nodes are others: one node-step task per node.
echo "localhost slots=8" >"$WORK/hosts"
out=$(hl --dry-run -n 8 --hostfile "$WORK/hosts" --image "$IMAGE" solver)
grep -q "^node step: mpirun .*--map-by ppr:1:node .*hpclaunch-node step$" <<<"$out" || fail "no node step with a hostfile"
hl --dry-run --json -n 8 --image "$IMAGE" solver | python3 -c '
import json, sys
plan = json.load(sys.stdin)
assert plan["ntasks"] == 8 and plan["launcher"] == "mpirun", plan
assert any(m["target"] == "/proc" for m in plan["mounts"])'
# Captured first: grep -q stops reading at the first match, and with pipefail the
# writer's EPIPE would fail the pipeline.
help=$(hl --help)
grep -q "Examples:" <<<"$help" || fail "--help has no examples"
grep -q "__join" <<<"$help" && fail "internal commands shown in --help"
grep -q "^hpclaunch [0-9]" <<<"$(hl version)" || fail "version"
echo PASS
