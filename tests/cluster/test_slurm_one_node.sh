#!/usr/bin/env bash
# A one-node job (issue 11: no second launcher where none is needed): the batch
# script's hpclaunch starts the node's holder itself — no node step — and the app
# step's ranks still reach slurmd's PMIx server from inside the container (the
# holder finds the step's PMIx dir under SlurmdSpoolDir without a PMIx variable of
# its own): MPI hello on 4 ranks, one container, no PMIx error.
source "$(dirname "$0")/lib.sh"
expect_nodes_idle
write_job one.sh <<EOF
#!/bin/bash
"$HPCLAUNCH" --dry-run --image "$IMAGE" hello | grep '^node step:'
exec "$HPCLAUNCH" --image "$IMAGE" hello
EOF
start=$(now)
sbatch_wait one timeout -k 5 120 \
  sbatch --wait -J "$JOB_NAME" -N1 -n4 -t 2 -o "$WORK/out/one-%j.out" "$WORK/one.sh"
secs=$(since "$start")
out=$job_out
[ "$rc" = 0 ] || fail "one-node job: sbatch --wait exit status $rc: $(cat "$WORK/sbatch.out")"$'\n'"$out"
grep -q '^node step: none (the only node is this one' <<<"$out" || fail "the one-node plan has a node step:"$'\n'"$out"
lines=$(grep '^hello rank=.* marker=hpclaunch-example-image ' <<<"$out" || true)
[ "$(grep -c . <<<"$lines")" = 4 ] || fail "want 4 hello lines from the image:"$'\n'"$out"
[ "$(grep -o ' size=[0-9]*' <<<"$lines" | sort -u)" = " size=4" ] || fail "MPI sizes are not 4:"$'\n'"$out"
[ "$(sed -n 's/.* mntns=\([0-9]*\) userns=\([0-9]*\) .*/\1 \2/p' <<<"$lines" | sort -u | grep -c .)" = 1 ] ||
  fail "not one container:"$'\n'"$out"
if grep -n 'PMIX ERROR' <<<"$out"; then fail "PMIX ERROR in the job output"; fi
note "4 ranks in one container on $(grep -o ' host=[^ ]*' <<<"$lines" | sort -u | tr -d ' '), no node step (job ${secs} s)"
echo PASS
