#!/usr/bin/env bash
# --stage on 4 nodes (sbcast): (a) the shared image file is read once per job —
# every process traced (the front end, sbcast, every node step and holder): two opens
# of the image, the front end's (the job's one stat, the superblock and the metadata
# tail's checksum: a few KB) and sbcast's (the whole file, once); none on the nodes; with
# --stage none each node reads what it touches (numbers printed); (b) the staged
# copies are gone from every node's /dev/shm after the job, after scancel and after
# the time limit; (c) --stage memory without room on the nodes is one line;
# (d) an image rewritten after the front end read it: a node that has not mounted yet
# refuses in one line when the image is served from the shared file, and a staged
# job is immune (auto stages here with HPCLAUNCH_STAGE_MIN_BYTES=0).
source "$(dirname "$0")/lib.sh"
command -v strace >/dev/null || fail "strace is not installed (apt-get install strace; scripts/setup does it)"
expect_nodes_idle
size=$(stat -c %s "$IMAGE")
expect_eq() { [ "$1" = "$2" ] || fail "$3: expected '$1', got '$2'"; }

staged_copies() {  # the test user's staged images in any node's /dev/shm
  local n
  for n in $(seq 1 "$NODES"); do
    { nsenter -t "$(node_pid "$n")" -m find /dev/shm -maxdepth 1 -name "hpclaunch-$TEST_UID-*.sqsh" 2>/dev/null || true; } |
      sed "s/^/node$n:/"
  done
}
expect_no_copies() {  # what
  local i left
  for i in $(seq 1 40); do
    left=$(staged_copies)
    [ -z "$left" ] && return 0
    sleep 0.5
  done
  fail "$1: staged copies left: $left"
}

# --- (a) reads of the shared image ------------------------------------------------
mkdir -p "$WORK/trace"
chown "$TEST_USER:" "$WORK/trace"
write_job trace-node <<EOF
#!/bin/sh
exec strace -f -ff -y -qq -e trace=openat,read,pread64,preadv,mmap,sendfile -o "$WORK/trace/\$(hostname)" "\$@"
EOF
write_job trace-front <<EOF
#!/bin/sh
exec strace -f -ff -y -qq -e trace=openat,read,pread64,preadv,mmap,sendfile -o "$WORK/trace/front" "\$@"
EOF

# "opens bytes" of the image by the traced processes whose trace file matches GLOB
image_reads() {  # GLOB
  cat "$WORK"/trace/$1 2>/dev/null | awk -v img="$IMAGE" '
    index($0, "\"" img "\"") && /^openat/ { opens++ }
    index($0, "<" img ">") && /^(read|pread64|preadv|sendfile)\(/ { n = $NF; if (n + 0 > 0) bytes += n }
    index($0, "<" img ">") && /^mmap\(/ { maps++ }
    END { printf "%d %d %d\n", opens, bytes, maps }'
}

run_traced() {  # label stage-option
  rm -f "$WORK"/trace/*
  set +e
  as_user HPCLAUNCH_NODE_STEP_WRAPPER="$WORK/trace-node" timeout -k 5 180 salloc -J "$JOB_NAME" -N4 -n16 \
    --ntasks-per-node=4 -t 5 "$WORK/trace-front" "$HPCLAUNCH" -v --stage "$2" --image "$IMAGE" hello \
    >"$WORK/out/$1" 2>&1
  local rc=$?
  set -e
  [ "$rc" = 0 ] || fail "$1: exit status $rc:"$'\n'"$(tail -n 30 "$WORK/out/$1")"
  [ "$(grep -c '^hello rank=.* marker=hpclaunch-example-image ' "$WORK/out/$1")" = 16 ] ||
    fail "$1: want 16 hello lines:"$'\n'"$(tail -n 30 "$WORK/out/$1")"
}

echo "(a) bytes read from the shared image ($size bytes)"
run_traced staged memory
grep -q "staged image \`$IMAGE\` .* on 4 nodes in .* by sbcast" "$WORK/out/staged" ||
  fail "(a) not staged with sbcast:"$'\n'"$(grep -i stag "$WORK/out/staged")"
read -r node_opens node_bytes _ <<<"$(image_reads 'node*')"
read -r front_opens front_bytes front_maps <<<"$(image_reads 'front*')"
note "staged: front end + sbcast: $front_opens open(s), $front_bytes bytes read, $front_maps mmap(s); node steps and holders: $node_opens open(s), $node_bytes bytes"
holders=$(grep -c 'image bytes read by this holder: [0-9]* from the staged copy .*(0 from the shared file)' "$WORK/out/staged" || true)
expect_eq 4 "$holders" "(a) holders that served a staged copy"
expect_eq 0 "$node_opens" "(a) opens of the shared image by node steps and holders"
expect_eq 2 "$front_opens" "(a) opens of the shared image by the front end (its identity) and sbcast (the copy)"
if [ "$front_maps" != 0 ]; then  # sbcast maps the file: only the front end's preads are counted
  [ "$front_bytes" -lt $((size / 10)) ] || fail "(a) the front end read $front_bytes bytes of the image to identify it"
else
  [ "$front_bytes" -lt $((size + size / 10)) ] || fail "(a) $front_bytes bytes read from the shared image (size $size)"
fi

run_traced unstaged none
read -r node_opens node_bytes _ <<<"$(image_reads 'node*')"
note "--stage none: node steps and holders: $node_opens open(s), $node_bytes bytes read from the shared image ($(grep -o 'image bytes read by this holder: [0-9]*' "$WORK/out/unstaged" | awk '{s = s " " $NF} END {print "per holder:" s}'))"
[ "$node_opens" -ge 4 ] || fail "(a) --stage none: want every node to open the shared image, got $node_opens opens"

# --- (b) copies gone after the job, scancel, time limit ------------------------------
echo "(b) no staged copy left: after the job, scancel, the time limit"
expect_no_copies "after the job"
write_job long.sh <<EOF
#!/bin/bash
"$HPCLAUNCH" --stage memory --image "$IMAGE" solver --steps 100000000 --report 1000000
EOF
ranks_running() {  # JOBID: its live processes named solver
  job_processes "$1" | while read -r pid _; do
    if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = solver ]; then echo "$pid"; fi
  done | wc -l
}
long_job() {  # sbatch options: waits until the ranks run, prints the job id
  local job i attempt out
  # A rank that segfaulted in Open MPI's MPI_Init (lib.sh) ends the job early:
  # submitted once more, and said so; any other end is a failure.
  for attempt in 1 2 3; do
    job=$(submit -N4 -n8 --ntasks-per-node=2 -o "$WORK/out/long-%j.out" "$@" "$WORK/long.sh")
    for i in $(seq 1 300); do
      [ "$(ranks_running "$job")" -ge 8 ] && break
      [ -n "$(sl squeue -h -j "$job" -o %T 2>/dev/null)" ] || break
      sleep 0.3
    done
    [ "$(ranks_running "$job")" -ge 8 ] && break
    out=$(cat "$WORK/out/long-$job.out" 2>/dev/null || true)
    [ -z "$(sl squeue -h -j "$job" -o %T 2>/dev/null)" ] || fail "job $job: the 8 ranks did not start within 90 s: $out"
    openmpi_init_crash "$out" && [ "$attempt" -lt 3 ] || fail "job $job: ranks did not start: $out"
    note "job $job: an MPI rank segfaulted in Open MPI's MPI_Init (address nil, a known Open MPI 4.1.4 race under load); submitting it once more" >&2
  done
  echo "$job"
}
JOB=$(long_job -t 5)
[ -z "$(staged_copies)" ] || fail "while job $JOB runs its copies must be unlinked (open in the holders): $(staged_copies)"
sl scancel "$JOB"
wait_job_gone "$JOB" 60
expect_no_copies "after scancel"
t0=$(now)
JOB=$(long_job -t 1)
wait_job_gone "$JOB" 180
expect_no_copies "after the time limit"
note "time limit case took $(since "$t0") s"

# --- (c) no room -------------------------------------------------------------------
echo "(c) --stage memory without room"
truncate -s 2T "$WORK/huge.sqsh"
dd if="$IMAGE" of="$WORK/huge.sqsh" bs=96 count=1 conv=notrunc status=none
chown "$TEST_USER:" "$WORK/huge.sqsh"
set +e
out=$(as_user timeout -k 5 120 salloc -J "$JOB_NAME" -N4 -n4 -t 2 "$HPCLAUNCH" --stage memory --image "$WORK/huge.sqsh" true 2>&1)
rc=$?
set -e
[ "$rc" != 0 ] || fail "(c) a 2 TB image was staged in memory"
line=$(grep -v '^salloc:' <<<"$out")
expect_eq 1 "$(grep -c . <<<"$line")" "(c) lines of the refusal ($line)"
grep -Eq "^hpclaunch: error: --stage memory: the image \(2\.2 TB\) does not fit in [^ ]*'s free memory \(.* free\); use --stage DIR \(a node-local disk\) or --stage none$" <<<"$line" ||
  fail "(c) refusal: $line"
rm -f "$WORK/huge.sqsh"

# --- (d) the image changes under the job ----------------------------------------------
echo "(d) image rewritten after rank 0 read it"
mkdir -p "$WORK/other/etc"
echo other >"$WORK/other/etc/other"
mksquashfs "$WORK/other" "$WORK/other.sqsh" -noappend -all-root -quiet >/dev/null
chown "$TEST_USER:" "$WORK/other.sqsh"
# node2's node step starts 3 s late and replaces the image first (a new file renamed
# over it): rank 0 (node1) has read it by then and waits in its fence for node2; the
# other nodes' holders open the image after that fence.
write_job late-node2 <<EOF
#!/bin/sh
if [ "\$(hostname)" = node2 ]; then sleep 3; cp "$WORK/other.sqsh" "$WORK/changing.new" && mv "$WORK/changing.new" "$WORK/changing.sqsh"; fi
exec "\$@"
EOF
changing_run() {  # label extra-env...
  local label=$1
  shift
  cp "$IMAGE" "$WORK/changing.sqsh"
  chown "$TEST_USER:" "$WORK/changing.sqsh"
  set +e
  out=$(as_user HPCLAUNCH_NODE_STEP_WRAPPER="$WORK/late-node2" "$@" timeout -k 5 120 salloc -J "$JOB_NAME" -N4 -n8 \
    -t 2 "$HPCLAUNCH" -v --image "$WORK/changing.sqsh" hello 2>&1)
  rc=$?
  set -e
}
changing_run unstaged
[ "$rc" != 0 ] || fail "(d) --stage none: a node served an image rewritten after rank 0 read it"
errs=$(grep 'error:' <<<"$out" | grep -v '^salloc' || true)
grep -q "error: image \`$WORK/changing.sqsh\` differs on this node from the one the first node read; the image changed during launch" <<<"$errs" ||
  fail "(d) --stage none: want node2's one line, got:"$'\n'"$out"
note "unstaged: $(head -n 1 <<<"$errs")"
changing_run staged HPCLAUNCH_STAGE_MIN_BYTES=0
[ "$rc" = 0 ] || fail "(d) staged (auto): the rewritten image reached the job:"$'\n'"$out"
grep -q 'staged image .* (auto: 4 nodes' <<<"$out" || fail "(d) auto did not stage:"$'\n'"$out"
[ "$(grep -c '^hello rank=.* marker=hpclaunch-example-image ' <<<"$out")" = 8 ] || fail "(d) staged: hello lines:"$'\n'"$out"
expect_no_copies "after (d)"
echo PASS
