#!/usr/bin/env bash
# Metadata load on the shared file system: one 16-rank launch on 4 nodes, with the
# front end and every node-step process traced (strace; HPCLAUNCH_NODE_STEP_WRAPPER +
# strace -f on the nodes, one trace per node and process). Among all calls that name the
# image (by path, or by an fd open on it: strace -y), there is exactly 1 stat-family call
# in the whole job (the front end's fstat of the fd it opened; the nodes open the image
# and compare its length and superblock with what the front end passed on, without a
# stat) and at most 1 open per node.
source "$(dirname "$0")/lib.sh"
command -v strace >/dev/null || fail "strace is not installed (apt-get install strace; scripts/setup does it)"
expect_nodes_idle
mkdir -p "$WORK/trace"
chown "$TEST_USER:" "$WORK/trace"
# One trace file per node and process: $WORK/trace/<hostname>.<pid>.
write_job trace-wrap <<EOF
#!/bin/sh
exec strace -f -ff -y -qq -e trace=%file,%%stat,pread64,preadv,preadv2,lseek,close -o "$WORK/trace/\$(hostname)" "\$@"
EOF

start=$(now)
set +e
as_user HPCLAUNCH_NODE_STEP_WRAPPER="$WORK/trace-wrap" timeout -k 5 180 \
  salloc -J "$JOB_NAME" -N4 -n16 --ntasks-per-node=4 -t 5 \
  strace -y -qq -e trace=%file,%stat,pread64,preadv,preadv2,lseek,close -o "$WORK/trace/front.0" \
  "$HPCLAUNCH" --image "$IMAGE" hello >"$WORK/out/hello" 2>&1
rc=$?
set -e
secs=$(since "$start")
[ "$rc" = 0 ] || fail "salloc -N4 -n16 hpclaunch hello (node step under strace): exit status $rc:"$'\n'"$(cat "$WORK/out/hello")"
[ "$(grep -c '^hello rank=.* marker=hpclaunch-example-image ' "$WORK/out/hello")" = 16 ] ||
  fail "want 16 hello lines from the image:"$'\n'"$(cat "$WORK/out/hello")"

# A node step that was started again (a lost PMIx fence) opens the image once more
# per node, but the front end stats it once for all starts.
starts=$((1 + $(grep -c 'starting it again' "$WORK/out/hello" || true)))
[ "$starts" = 1 ] || note "the node step was started $starts times: $(grep 'starting it again' "$WORK/out/hello")"

traced=$(find "$WORK/trace" -type f -printf '%f\n' | sed 's/\.[0-9]*$//' | sort -u | tr '\n' ' ')
[ "$traced" = "front $(seq 1 4 | sed 's/^/node/' | tr '\n' ' ')" ] ||
  fail "node step not traced on every node (trace files from: '$traced'); is the wrapper applied?"

# node syscall, for every call naming the image path or an fd on it
calls=$(for f in "$WORK"/trace/*; do
  node=$(basename "$f"); node=${node%.*}
  grep -F -e "\"$IMAGE\"" -e "<$IMAGE>" "$f" | grep -v '^\(---\|+++\)' | sed "s/(.*//; s/^/$node /" || true
done)
stat_re='^(stat|lstat|fstat|newfstatat|fstatat64|statx|stat64|lstat64|fstat64|oldstat|oldlstat|oldfstat)$'
open_re='^(open|openat|openat2|creat)$'
stats=$(awk -v re="$stat_re" '$2 ~ re' <<<"$calls")
nstat=$(grep -c . <<<"$stats" || true)
echo "  calls naming $IMAGE: the front end, and per node (node step, holder and its children):"
for n in front node1 node2 node3 node4; do
  per=$(awk -v n="$n" '$1 == n { c[$2]++ } END { for (k in c) printf "%s=%d ", k, c[k] }' <<<"$calls")
  echo "    $n: ${per:-none}"
done
note "stat-family calls in the job: $nstat$( [ -n "$stats" ] && echo " ($(tr '\n' ',' <<<"$stats" | sed 's/,$//'))")"
node_stats=$(awk '$1 != "front"' <<<"$stats" | grep -c . || true)
if [ "$nstat" != 1 ] || [ "$node_stats" != 0 ]; then
  grep -F -e "\"$IMAGE\"" -e "<$IMAGE>" "$WORK"/trace/* | grep -E ':(stat|lstat|fstat|newfstatat|fstatat64|statx|stat64|lstat64|fstat64)\(' | sed 's/^/    /' >&2 || true
  fail "want exactly 1 stat-family call on the image in the job (the front end's), none on the nodes; got $nstat ($node_stats on nodes)"
fi
for n in $(seq 1 4); do
  nopen=$(awk -v n="node$n" -v re="$open_re" '$1 == n && $2 ~ re' <<<"$calls" | wc -l)
  [ "$nopen" -le "$starts" ] || fail "node$n opened the image $nopen times (want at most $starts):"$'\n'"$(grep -F "\"$IMAGE\"" "$WORK"/trace/node$n.* | grep -E ':(open|openat|openat2|creat)\(')"
done
note "opens per node: $(for n in $(seq 1 4); do printf 'node%s=%s ' "$n" "$(awk -v n="node$n" -v re="$open_re" '$1 == n && $2 ~ re' <<<"$calls" | wc -l)"; done)"
echo "PASS (${secs} s)"
