#!/usr/bin/env bash
# In allocations of 2 nodes: 200 launches of 16 ranks of `true` through the srun
# front end (`hpclaunch -n 16 …`), then 200 in companion mode (`srun -n 16 hpclaunch
# exec …`): every launch succeeds (one whose crashed node step was started again counts,
# and is counted), and nothing is left afterwards. Prints the time per
# launch. HPCL_B2B_LAUNCHES overrides the count (for a quick run).
source "$(dirname "$0")/lib.sh"
COUNT=${HPCL_B2B_LAUNCHES:-200}
expect_nodes_idle
baseline=$(fuse_connections)
touch "$WORK/stamp"

# One mode's loop, run inside the allocation. A launch that hangs is cut at 60 s; the
# loop gives up after 5 failures or 250 s (the test fails either way). The output of
# the first failures is kept in $WORK/out/failed.MODE.
write_job loop.sh <<EOF
#!/bin/bash
mode=\$1 count=\$2 fails=0 restarts=0
launch() {
  if [ "\$mode" = srun ]; then
    timeout -k 5 60 "$HPCLAUNCH" -n 16 --image "$IMAGE" true
  else
    timeout -k 5 60 srun -n 16 --quiet "$HPCLAUNCH" exec --image "$IMAGE" true
  fi
}
start=\$(date +%s.%N)
deadline=\$(( \$(date +%s) + 250 ))
for i in \$(seq 1 "\$count"); do
  if [ "\$(date +%s)" -ge "\$deadline" ]; then
    echo "RESULT mode=\$mode job=\$SLURM_JOB_ID launches=\$((i - 1)) failures=\$fails restarts=\$restarts out_of_time=1 seconds=\$(awk -v a="\$start" -v b="\$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')"
    exit 1
  fi
  launch >"$WORK/out/launch.\$mode" 2>&1
  code=\$?
  # A node step that crashed (Open MPI 4.1.4's MPI_Init) and was started again.
  grep -q "starting it again" "$WORK/out/launch.\$mode" && restarts=\$((restarts + 1))
  if [ "\$code" != 0 ]; then
    fails=\$((fails + 1))
    { echo "--- launch \$i: exit status \$code"; cat "$WORK/out/launch.\$mode"; } >>"$WORK/out/failed.\$mode"
    if [ "\$fails" -ge 5 ]; then echo "RESULT mode=\$mode job=\$SLURM_JOB_ID launches=\$i failures=\$fails restarts=\$restarts gave_up=1"; exit 1; fi
  fi
done
end=\$(date +%s.%N)
echo "RESULT mode=\$mode job=\$SLURM_JOB_ID launches=\$count failures=\$fails restarts=\$restarts seconds=\$(awk -v a="\$start" -v b="\$end" 'BEGIN { printf "%.2f", b - a }')"
EOF
# slurmd 22.05 crashes here now and then with heap corruption ("malloc(): memory
# corruption", "unaligned tcache chunk detected" in nodelist_find; core dumps show it
# inside slurmd, not in any process of ours), once after ~380 steps in one job: each
# allocation runs at most CHUNK launches (2 steps each in srun mode), and a chunk
# during which a Slurm daemon died is run again on a restarted cluster (its launches
# are not counted; 3 crashes in a row fail the test).
CHUNK=50
start=$(now)
slurm_crashes=0
: >"$WORK/out/salloc"
touch "$WORK/out/failed.srun" "$WORK/out/failed.companion"
# The loop runs as the test user and appends its failures here.
chown "$TEST_USER:" "$WORK/out/salloc" "$WORK/out/failed.srun" "$WORK/out/failed.companion"
for mode in srun companion; do
  left=$COUNT
  while [ "$left" -gt 0 ]; do
    n=$((left < CHUNK ? left : CHUNK))
    for attempt in 1 2 3; do
      lines=$(wc -l <"$WORK/out/salloc") failed_bytes=$(stat -c %s "$WORK/out/failed.$mode")
      # Watched: once a daemon is dead the chunk's launches only fail or wait, so it is
      # stopped at once instead of running into the loop's limits.
      as_user timeout -k 5 300 salloc -J "$JOB_NAME" -N2 -n16 -t 5 "$WORK/loop.sh" "$mode" "$n" >>"$WORK/out/salloc" 2>&1 &
      chunk=$!
      while kill -0 "$chunk" 2>/dev/null; do
        sleep 2
        "$SOURCE/scripts/testcluster" status >/dev/null 2>&1 && continue
        sl scancel -u "$TEST_USER" -n "$JOB_NAME" 2>/dev/null || true
        pkill -TERM -u "$TEST_USER" -f "salloc -J $JOB_NAME" 2>/dev/null || true
        break
      done
      set +e
      wait "$chunk"
      rc=$?
      set -e
      "$SOURCE/scripts/testcluster" status >/dev/null 2>&1 && break
      slurm_crashes=$((slurm_crashes + 1))
      note "$mode: a Slurm daemon died during these $n launches ($("$SOURCE/scripts/testcluster" status 2>&1 | head -n 1)); restarting the cluster and running them again"
      [ "$attempt" -lt 3 ] || fail "$mode: the test cluster crashed 3 times in a row"
      # This chunk's results and failure logs do not count.
      sed -n "$((lines + 1)),\$p" "$WORK/out/salloc" | sed 's/^RESULT /CRASHED /' >>"$WORK/out/salloc.crashed"
      sed -i "$((lines + 1)),\$d" "$WORK/out/salloc"
      truncate -s "$failed_bytes" "$WORK/out/failed.$mode"
      sl scancel -u "$TEST_USER" -n "$JOB_NAME" 2>/dev/null || true
      "$SOURCE/scripts/testcluster" up "$NODES" >/dev/null
    done
    [ "$rc" != 124 ] || fail "$mode: $n launches did not finish in 300 s:"$'\n'"$(tail -n 20 "$WORK/out/salloc")"
    left=$((left - n))
  done
done
secs=$(since "$start")
# One RESULT line per mode: the chunks summed.
results=$(awk '/^RESULT / {
    delete v
    for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    m = v["mode"]; job[m] = v["job"]; n[m] += v["launches"]; f[m] += v["failures"]; s[m] += v["seconds"]; r[m] += v["restarts"]
    if (v["out_of_time"]) oot[m] = 1
  }
  END { for (m in n) printf "RESULT mode=%s job=%s launches=%d failures=%d restarts=%d seconds=%.2f%s\n", m, job[m], n[m], f[m], r[m], s[m], oot[m] ? " out_of_time=1" : "" }' "$WORK/out/salloc")
job=$(sed -n 's/.* job=\([0-9]*\) .*/\1/p' <<<"$results" | head -n 1)
[ -n "$job" ] || fail "no result from the allocations:"$'\n'"$(tail -n 20 "$WORK/out/salloc")"

report() {  # mode label
  local line n f s
  line=$(grep "^RESULT mode=$1 " <<<"$results" || true)
  [ -n "$line" ] || fail "$2: no result line:"$'\n'"$(tail -n 20 "$WORK/out/salloc")"
  n=$(sed -n 's/.* launches=\([0-9]*\).*/\1/p' <<<"$line")
  f=$(sed -n 's/.* failures=\([0-9]*\).*/\1/p' <<<"$line")
  if [ "$f" != 0 ]; then
    echo "$2: $f failed launches out of $n; the first failures:" >&2
    head -n 40 "$WORK/out/failed.$1" >&2
    fail "$2: $f of $n launches failed"
  fi
  s=$(sed -n 's/.* seconds=\([0-9.]*\).*/\1/p' <<<"$line")
  if grep -q ' out_of_time=1' <<<"$line"; then
    fail "$2: only $n of $COUNT launches in $s s ($(awk -v s="$s" -v n="$n" 'BEGIN { printf "%.2f", s / (n ? n : 1) }') s each; the limit is 250 s per mode): is the machine overloaded?"
  fi
  r=$(sed -n 's/.* restarts=\([0-9]*\).*/\1/p' <<<"$line")
  note "$2: $n launches of 16 ranks, 0 failures ($r with a node step started again), $s s, $(awk -v s="$s" -v n="$n" 'BEGIN { printf "%.3f", s / n }') s per launch"
}
report srun "srun front end (hpclaunch -n 16)"
report companion "companion mode (srun -n 16 hpclaunch exec)"
[ "$rc" = 0 ] || fail "salloc exit status $rc:"$'\n'"$(tail -n 20 "$WORK/out/salloc")"
wait_job_gone "$job" 30
expect_job_clean "$job" "$baseline" "$WORK/stamp"
[ "$slurm_crashes" = 0 ] || note "chunks run again after a Slurm daemon crashed: $slurm_crashes"
echo "PASS (${secs} s in all)"
