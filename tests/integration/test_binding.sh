#!/usr/bin/env bash
# Each rank is bound as the node's plan says: distinct cores, inside the
# cpuset it was given (never outside), reported like mpirun
# --report-bindings; --bind none leaves every allowed cpu; `hpclaunch
# topology --json` shows the machine and the plan.
source "$(dirname "$0")/lib.sh"
ncpu=$(nproc)
out=$(hl -n 2 --image "$IMAGE" --report-bindings hello 2>&1)
echo "$out"
cpus0=$(grep '^hello rank=0 ' <<<"$out" | grep -o 'cpus=[0-9,-]*' | cut -d= -f2)
cpus1=$(grep '^hello rank=1 ' <<<"$out" | grep -o 'cpus=[0-9,-]*' | cut -d= -f2)
[ -n "$cpus0" ] && [ -n "$cpus1" ] || fail "missing rank lines"
if [ "$ncpu" -ge 2 ]; then
  [ "$cpus0" != "$cpus1" ] || fail "both ranks bound to the same cpus ($cpus0) with $ncpu cpus"
fi
grep -q "^hpclaunch: rank 0 (local 0) on .*: core.* (pu $cpus0)" <<<"$out" || fail "rank 0's report does not match its Cpus_allowed_list $cpus0"
grep -q "^hpclaunch: rank 1 (local 1) on .*: core.* (pu $cpus1)" <<<"$out" || fail "rank 1's report does not match its Cpus_allowed_list $cpus1"

out=$(hl -n 2 --image "$IMAGE" --bind none hello)
all=$(as_user grep Cpus_allowed_list /proc/self/status | awk '{print $2}')
expect_eq 2 "$(grep -c "cpus=$all\$" <<<"$out")" "--bind none: every rank on all allowed cpus ($all)"

# Restricted cpuset (as Slurm would give): ranks stay inside it, one warning for sharing.
last=$((ncpu - 1))
out=$(cd "$WORK" && "${RUN_AS[@]}" env OMPI_MCA_mpi_yield_when_idle=1 taskset -c "$last" "$HPCLAUNCH" -n 3 --image "$IMAGE" hello 2>&1)
echo "$out"
expect_eq 3 "$(grep -c "cpus=$last\$" <<<"$out")" "ranks inside the allowed cpuset $last"
expect_eq 1 "$(grep -c 'warning: .*ranks share cores (oversubscribed)' <<<"$out")" "one oversubscription warning"

hl topology --ranks 2 --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert len(d["plan"]["ranks"]) == 2, d["plan"]
assert d["topology"]["cores"] if "cores" in d["topology"] else True'
echo PASS
