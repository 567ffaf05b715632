#!/usr/bin/env bash
# 64 ranks on 4 nodes under sbatch: the example solver (examples/sbatch/solver.sbatch)
# converges, and MPI hello shows every rank once, all 4 nodes used, one shared
# container (mount + user namespace) per node and a different one on each node, no
# PMIx errors.
source "$(dirname "$0")/lib.sh"
expect_nodes_idle
cp "$SOURCE/examples/sbatch/solver.sbatch" "$WORK/solver.sbatch"
chown "$TEST_USER:" "$WORK/solver.sbatch"

# --- the solver, 50 steps, as the example batch script runs it -----------------------
start=$(now)
sbatch_wait solver HPCLAUNCH="$HPCLAUNCH" IMAGE="$IMAGE" timeout -k 5 300 \
  sbatch --wait -J "$JOB_NAME" -N4 -n64 --ntasks-per-node=16 -t 5 -o "$WORK/out/solver-%j.out" "$WORK/solver.sbatch" 50
solver_secs=$(since "$start")
out=$job_out
[ "$rc" = 0 ] || fail "solver job: sbatch --wait exit status $rc: $(cat "$WORK/sbatch.out")"$'\n'"$out"
grep -q '^solver: ranks=64 steps=50 ' <<<"$out" || fail "no 'solver: ranks=64 steps=50' summary in the job output:"$'\n'"$out"
residuals=$(sed -n 's/^step=\([0-9]*\) residual=\([0-9.e+-]*\)$/\2/p' <<<"$out")
[ "$(wc -l <<<"$residuals")" -ge 5 ] || fail "fewer than 5 'step=K residual=R' lines:"$'\n'"$out"
awk 'NR > 1 && $1 + 0 >= prev + 0 { print "residual rose or stalled at report " NR ": " prev " -> " $1; bad = 1 } { prev = $1 } END { exit bad }' \
  <<<"$residuals" >"$WORK/residual.err" || fail "the residual does not fall: $(cat "$WORK/residual.err")"$'\n'"$out"
note "$(grep '^solver:' <<<"$out")  (job ${solver_secs} s with sbatch --wait)"
note "residual $(head -n 1 <<<"$residuals") -> $(tail -n 1 <<<"$residuals")"

# --- MPI hello: ranks, hosts, one container per node -------------------------------------
write_job hello.sh <<EOF
#!/bin/bash
exec "$HPCLAUNCH" --image "$IMAGE" hello
EOF
start=$(now)
sbatch_wait hello timeout -k 5 300 \
  sbatch --wait -J "$JOB_NAME" -N4 -n64 --ntasks-per-node=16 -t 5 -o "$WORK/out/hello-%j.out" "$WORK/hello.sh"
hello_secs=$(since "$start")
hout=$job_out
[ "$rc" = 0 ] || fail "hello job: sbatch --wait exit status $rc: $(cat "$WORK/sbatch.out")"$'\n'"$hout"
lines=$(grep '^hello rank=' <<<"$hout" || true)
[ "$(grep -c . <<<"$lines")" = 64 ] || fail "want 64 hello lines, got $(grep -c . <<<"$lines"):"$'\n'"$hout"
# rank size host mntns userns uid marker
table=$(sed -n 's/^hello rank=\([0-9]*\) size=\([0-9]*\) host=\([^ ]*\) mntns=\([0-9]*\) userns=\([0-9]*\) uid=\([0-9]*\) marker=\([^ ]*\) .*/\1 \2 \3 \4 \5 \6 \7/p' <<<"$lines")
[ "$(grep -c . <<<"$table")" = 64 ] || fail "hello lines not in the expected format:"$'\n'"$lines"
[ "$(cut -d' ' -f1 <<<"$table" | sort -n | tr '\n' ' ')" = "$(seq 0 63 | tr '\n' ' ')" ] ||
  fail "ranks are not 0..63 once each: $(cut -d' ' -f1 <<<"$table" | sort -n | tr '\n' ' ')"
[ "$(cut -d' ' -f2 <<<"$table" | sort -u)" = 64 ] || fail "sizes are not all 64: $(cut -d' ' -f2 <<<"$table" | sort -u | tr '\n' ' ')"
[ "$(cut -d' ' -f6 <<<"$table" | sort -u)" = "$TEST_UID" ] || fail "uid inside is not $TEST_UID: $(cut -d' ' -f6 <<<"$table" | sort -u | tr '\n' ' ')"
[ "$(cut -d' ' -f7 <<<"$table" | sort -u)" = hpclaunch-example-image ] || fail "not every rank runs in the image (marker): $(cut -d' ' -f7 <<<"$table" | sort -u | tr '\n' ' ')"
hosts=$(cut -d' ' -f3 <<<"$table" | sort -u | tr '\n' ' ')
expect_hosts=$(seq 1 4 | sed 's/^/node/' | tr '\n' ' ')
[ "$hosts" = "$expect_hosts" ] || fail "hosts used: '$hosts', want '$expect_hosts'"
# one mount namespace and one user namespace per node, different on every node
per_node=$(awk '{ print $3, $4, $5 }' <<<"$table" | sort -u)
[ "$(grep -c . <<<"$per_node")" = 4 ] || fail "ranks on one node are not in one container (host mntns userns):"$'\n'"$per_node"
[ "$(cut -d' ' -f2 <<<"$per_node" | sort -u | wc -l)" = 4 ] || fail "nodes share a mount namespace:"$'\n'"$per_node"
[ "$(cut -d' ' -f3 <<<"$per_node" | sort -u | wc -l)" = 4 ] || fail "nodes share a user namespace:"$'\n'"$per_node"
counts=$(cut -d' ' -f3 <<<"$table" | sort | uniq -c | awk '{ printf "%s%s:%s", sep, $2, $1; sep = " " }')
note "hello: 64 ranks, ranks per node $counts; one container per node (job ${hello_secs} s)"

if grep -n 'PMIX ERROR' "$WORK"/out/*.out; then fail "PMIX ERROR in the job output (above)"; fi
# Our errors only ("hpclaunch: [node: ]error: ..."); a node step started again after
# Open MPI's MPI_Init crash is a warning that quotes srun's "error:" line.
if grep -nE '^hpclaunch: ([^ :]+: )?error: ' "$WORK"/out/*.out; then fail "hpclaunch error in the job output (above)"; fi
if grep -h 'starting it again' "$WORK"/out/*.out; then note "(a node step was started again, above)"; fi
echo PASS
