#!/usr/bin/env bash
# Named containers on 4 nodes (issue 12), as pyxis users work: a locally built .deb is
# installed once per node with --root --writable into a Debian image, then run as the
# user by 64 ranks in the same containers; a file written by rank 3 of node2 is seen by
# a later launch's ranks on node2, not on node1; MPI hello runs as the user in a
# container made with --root; another --image is refused; ps shows the holders; save
# writes an image that runs without --name; stop, and scancel of a job that keeps a
# named container, leave nothing on any node.
source "$(dirname "$0")/lib.sh"
expect_nodes_idle
DEBIAN=$("$SOURCE/scripts/make-debian-image")
cp "$DEBIAN" "$WORK/debian.sqsh"
# mytool: a package of one script, built here.
mkdir -p "$WORK/pkg/DEBIAN" "$WORK/pkg/usr/bin"
printf 'Package: mytool\nVersion: 1.0\nArchitecture: all\nMaintainer: hpclaunch tests <t@example.org>\nDescription: test tool\n' \
  >"$WORK/pkg/DEBIAN/control"
printf '#!/bin/sh\necho "mytool on $(hostname) rank ${SLURM_PROCID:-?} uid $(id -u)"\n' >"$WORK/pkg/usr/bin/mytool"
chmod 755 "$WORK/pkg/usr/bin/mytool"
dpkg-deb --root-owner-group --build "$WORK/pkg" "$WORK/mytool.deb" >/dev/null
chown -R "$TEST_USER:" "$WORK"

write_job named.sh <<EOF
#!/bin/bash
H="$HPCLAUNCH"
echo "=== install"
\$H --name dev --root --writable -n 4 --ntasks-per-node=1 --image "$WORK/debian.sqsh" \
  sh -c 'dpkg -i "$WORK/mytool.deb" >/dev/null && echo "installed on \$(hostname) as \$(id -u)"'
echo "=== exit \$?"
echo "=== run"
\$H --name dev mytool
echo "=== exit \$?"
echo "=== write"
\$H --name dev sh -c 'if [ "\$SLURM_PROCID" = 19 ]; then echo from-rank-19 >/var/tmp/written; fi'
echo "=== exit \$?"
echo "=== read"
\$H --name dev -n 8 --ntasks-per-node=2 sh -c 'echo "\$(hostname) \$(cat /var/tmp/written 2>/dev/null || echo none)"'
echo "=== exit \$?"
echo "=== other image"
\$H --name dev --image "$IMAGE" true
echo "=== exit \$?"
echo "=== ps"
\$H ps
echo "=== save"
\$H save dev -o "$WORK/saved.sqsh"
echo "=== exit \$?"
echo "=== stop"
\$H stop dev
echo "=== exit \$?"
\$H ps
echo "=== saved"
\$H -n 4 --ntasks-per-node=1 --image "$WORK/saved.sqsh" mytool
echo "=== exit \$?"
echo "=== mpi"
\$H --name mpi --root --writable -n 4 --ntasks-per-node=1 --image "$IMAGE" sh -c 'echo root-was-here >/usr/share/mpi-note'
\$H --name mpi hello
echo "=== exit \$?"
\$H stop mpi
EOF
start=$(now)
sbatch_wait named timeout -k 5 400 \
  sbatch --wait -J "$JOB_NAME" -N4 --ntasks-per-node=16 -t 6 -o "$WORK/out/named-%j.out" "$WORK/named.sh"
secs=$(since "$start")
out=$job_out
echo "$out" | grep -v '^hello rank=\|^mytool on '
[ "$rc" = 0 ] || fail "named job: sbatch --wait exit status $rc"
block() { awk -v h="=== $1" '$0 == h { on = 1; next } /^=== / && on { exit } on' <<<"$out"; }
exit_of() { awk -v h="=== $1" '$0 == h { on = 1; next } /^=== exit / && on { print $3; exit }' <<<"$out"; }

expect_eq() { [ "$1" = "$2" ] || fail "$3: expected '$1', got '$2'"; }
expect_eq 0 "$(exit_of install)" "exit status of the install"
expect_eq 4 "$(block install | grep -c '^installed on node[1-4] as 0$')" "nodes that installed as root"
expect_eq 64 "$(block run | grep -c "^mytool on node[1-4] rank [0-9]* uid $TEST_UID$")" "ranks running the installed tool as the user"
expect_eq 16 "$(block run | grep -c '^mytool on node2 ')" "ranks on node2"
expect_eq "node1 none node1 none node2 from-rank-19 node2 from-rank-19 node3 none node3 none node4 none node4 none" \
  "$(block read | sort | tr '\n' ' ' | sed 's/ $//')" "what a later launch's ranks see of rank 19's file (node2's)"
[ "$(exit_of 'other image')" = 1 ] || fail "a launch with another image was not refused"
grep -q "error: named container .dev. was made with --image $WORK/debian.sqsh; this launch asks for --image $IMAGE" <<<"$out" ||
  fail "no one-line refusal of the other image"
expect_eq 4 "$(block ps | grep -c '^dev ')" "holders ps shows"
expect_eq 0 "$(exit_of save)" "exit status of save"
expect_eq 0 "$(exit_of stop)" "exit status of stop"
expect_eq 4 "$(block saved | grep -c "^mytool on node[1-4] rank [0-3] uid $TEST_UID$")" "ranks running the saved image"
expect_eq 64 "$(grep -c "^hello rank=[0-9]* size=64 .* uid=$TEST_UID " <<<"$out")" "MPI ranks as the user in a --root container"
expect_eq 0 "$(exit_of mpi)" "exit status of MPI hello in the named container"
if grep -n 'PMIX ERROR' <<<"$out"; then fail "PMIX ERROR in the job output"; fi
note "install, 64 ranks, save, stop (job ${secs} s)"
JOB=$(sed -n 's/^Submitted batch job //p' "$WORK/sbatch.out")
as_user "$HPCLAUNCH" ps >/dev/null  # a launcher command on the batch host tidies records of ended jobs
expect_job_clean "$JOB" "$(fuse_connections)" "$WORK/sbatch.out"

echo "(scancel) a job that keeps a named container"
touch "$WORK/stamp"
write_job keep.sh <<EOF
#!/bin/bash
"$HPCLAUNCH" --name keep -n 4 --ntasks-per-node=1 --image "$IMAGE" true && echo kept
sleep 300
EOF
JOB=$(submit -N4 --ntasks-per-node=1 -o "$WORK/out/keep-%j.out" "$WORK/keep.sh")
for i in $(seq 1 300); do grep -q '^kept' "$WORK/out/keep-$JOB.out" 2>/dev/null && break; sleep 0.2; done
grep -q '^kept' "$WORK/out/keep-$JOB.out" || fail "the named container was not made: $(cat "$WORK/out/keep-$JOB.out")"
FUSE_IDS=$(job_fuse_connections "$JOB")
[ "$(wc -w <<<"$FUSE_IDS")" -ge 4 ] || fail "want the named container's FUSE mounts on 4 nodes, found '$FUSE_IDS'"
sl scancel "$JOB"
wait_job_gone "$JOB" 60
as_user "$HPCLAUNCH" ps >/dev/null
expect_job_clean "$JOB" 0 "$WORK/stamp" "$FUSE_IDS"
echo PASS
