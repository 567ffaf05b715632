#!/usr/bin/env bash
# --stage on one machine: the front end copies the image once (memory:
# /dev/shm; DIR), the holder serves the copy (-v: 0 bytes from the shared
# file) and the copy is gone after the launch, after a failing rank, and
# after SIGTERM; an image that does not fit is one line, so are the modes
# that cannot stage here; auto stages nothing on one machine.
source "$(dirname "$0")/lib.sh"
baseline=$(fuse_connections)
uid=$(id -u "$TEST_USER")

copies_left() {  # DIR: this user's staged copies there
  find "$1" -maxdepth 1 -name "hpclaunch-$uid-*.sqsh" 2>/dev/null | head -n 3
}

out=$(hl -n 2 -v --stage memory --image "$IMAGE" solver --steps 3 2>&1) || fail "--stage memory: $out"
grep -q "staged image \`$IMAGE\` (.*) to \`/dev/shm/hpclaunch-$uid-" <<<"$out" || fail "--stage memory: not staged: $out"
grep -q 'image bytes read by this holder: [0-9]* from the staged copy .*(0 from the shared file)' <<<"$out" ||
  fail "--stage memory: the holder did not serve the copy: $out"
[ -z "$(copies_left /dev/shm)" ] || fail "--stage memory: copy left: $(copies_left /dev/shm)"

dir=$(fresh_tmp stage)
out=$(hl -n 2 -v --stage "$dir" --image "$IMAGE" solver --steps 3 2>&1) || fail "--stage DIR: $out"
grep -q "to \`$dir/hpclaunch-$uid-" <<<"$out" || fail "--stage DIR: not staged there: $out"
[ -z "$(copies_left "$dir")" ] || fail "--stage DIR: copy left: $(copies_left "$dir")"

# A failing rank, then SIGTERM to the front end mid-run: nothing left either.
set +e
hl -n 2 --stage memory --image "$IMAGE" sh -c 'exit 3' >/dev/null 2>&1
code=$?
set -e
expect_eq 3 "$code" "exit status of a failing rank with --stage memory"
[ -z "$(copies_left /dev/shm)" ] || fail "failing rank: copy left: $(copies_left /dev/shm)"
(cd "$WORK" && exec "${RUN_AS[@]}" timeout 60 "$HPCLAUNCH" -n 2 --stage memory --image "$IMAGE" sleep 30 \
  >"$WORK/term.out" 2>&1) &
launcher=$!
for i in $(seq 1 100); do
  pgrep -u "$TEST_USER" -x sleep >/dev/null && break
  sleep 0.1
done
pkill -TERM -u "$TEST_USER" -f "$WORK/bin/hpclaunch -n 2 --stage memory" || fail "no front end to stop"
set +e
wait "$launcher"
set -e
[ -z "$(copies_left /dev/shm)" ] || fail "SIGTERM: copy left: $(copies_left /dev/shm)"

# auto on one machine: the image is read once anyway, nothing is copied.
out=$(hl -n 2 -v --image "$IMAGE" true 2>&1) || fail "--stage auto: $out"
grep -q 'image not staged: auto: one node reads the image once anyway' <<<"$out" || fail "--stage auto: $out"
grep -q 'image bytes read by this holder: [0-9]* from the shared file' <<<"$out" || fail "auto: $out"

# No room: a 2 TB (sparse) image is refused before anything starts, in one line.
truncate -s 2T "$WORK/huge.sqsh"
dd if="$IMAGE" of="$WORK/huge.sqsh" bs=96 count=1 conv=notrunc status=none
chmod 644 "$WORK/huge.sqsh"
out=$(hl -n 2 --stage memory --image "$WORK/huge.sqsh" true 2>&1) && fail "--stage memory accepted a 2 TB image"
expect_eq 1 "$(grep -c . <<<"$out")" "lines of the no-room refusal ($out)"
grep -Eq "^hpclaunch: error: --stage memory: the image \(2\.2 TB\) does not fit in .*'s free memory \(.* free\); use --stage DIR \(a node-local disk\) or --stage none$" <<<"$out" ||
  fail "no-room refusal: $out"
rm -f "$WORK/huge.sqsh"

out=$(hl -n 2 --stage "$WORK/no-such-dir" --image "$IMAGE" true 2>&1) && fail "--stage with a missing DIR accepted"
grep -q "cannot use directory \`$WORK/no-such-dir\`: No such file or directory; give a node-local directory" <<<"$out" ||
  fail "missing DIR: $out"
echo localhost >"$WORK/hosts"
out=$(hl -n 2 --hostfile "$WORK/hosts" --stage memory --image "$IMAGE" true 2>&1) && fail "--stage memory with --hostfile"
grep -q 'error: --stage memory: outside Slurm only one machine can be staged' <<<"$out" || fail "hostfile: $out"

expect_no_leftovers "$baseline"
echo PASS
