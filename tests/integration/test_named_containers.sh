#!/usr/bin/env bash
# Named containers on one machine (issue 12): the first launch with --name makes
# the container and keeps it; later launches join it (its writable layer and
# holder persist: no rebuild), `ps` shows it, a launch asking for another image is
# refused with one line, `save` writes it as a new image that runs without --name,
# `stop` and the idle timeout leave nothing behind.
source "$(dirname "$0")/lib.sh"
baseline=$(fuse_connections)
trap 'as_user "$HPCLAUNCH" stop dev >/dev/null 2>&1 || true; as_user "$HPCLAUNCH" stop idle >/dev/null 2>&1 || true; cleanup_work' EXIT

out=$(hl -n 2 --name dev --writable --image "$IMAGE" sh -c 'echo kept >>/usr/share/dev-note; echo made' 2>&1)
echo "$out"
expect_eq 2 "$(grep -c '^made$' <<<"$out")" "ranks of the first launch"
holder=$(pgrep -u "$TEST_USER" -f "$WORK/bin/hpclaunch-node holder")
[ -n "$holder" ] || fail "no holder kept after the first launch"

out=$(hl -n 3 --name dev sh -c 'cat /usr/share/dev-note' 2>&1)
echo "$out"
expect_eq 6 "$(grep -c '^kept$' <<<"$out")" "lines of the note 2 ranks wrote, seen by 3 ranks of the next launch"
expect_eq "$holder" "$(pgrep -u "$TEST_USER" -f "$WORK/bin/hpclaunch-node holder")" "holder (not rebuilt)"
out=$(hl -n 1 --name dev hello 2>&1)
grep -q "^hello rank=0 size=1 .*uid=$(id -u "$TEST_USER") " <<<"$out" || fail "MPI in the named container: $out"

table=$(as_user "$HPCLAUNCH" ps)
echo "$table"
grep -qE "^dev +[^ ]+ +[0-9-]+ [0-9:]+ +0/6 +yes +no +$IMAGE$" <<<"$table" || fail "ps does not show dev: $table"
as_user "$HPCLAUNCH" ps --json | python3 -c 'import json,sys; r=json.load(sys.stdin); assert r[0]["name"]=="dev" and r[0]["ranks_joined"]==6, r'

set +e
err=$(hl -n 1 --name dev --image "$WORK/other.sqsh" true 2>&1)
code=$?
set -e
expect_eq 1 "$code" "exit status of a launch with another image"
expect_eq 1 "$(grep -c . <<<"$err")" "lines of the refusal"
grep -q "named container .dev. was made with --image $IMAGE; this launch asks for --image $WORK/other.sqsh" <<<"$err" ||
  fail "unclear refusal: $err"

as_user "$HPCLAUNCH" save dev -o "$WORK/saved.sqsh"
as_user "$HPCLAUNCH" stop dev
expect_eq "" "$(pgrep -u "$TEST_USER" -f "$WORK/bin/hpclaunch-node holder" || true)" "holder after stop"
expect_eq 1 "$(as_user "$HPCLAUNCH" ps | wc -l)" "ps lines after stop (the header)"
out=$(hl -n 1 --image "$WORK/saved.sqsh" sh -c 'cat /usr/share/dev-note' 2>&1)
expect_eq 2 "$(grep -c '^kept$' <<<"$out")" "the saved image has the container's writes"
expect_no_leftovers "$baseline"

# Idle timeout: gone by itself after 2 s without a rank.
hl -n 1 --name idle --idle-timeout 2 --image "$IMAGE" true
pgrep -u "$TEST_USER" -f "$WORK/bin/hpclaunch-node holder" >/dev/null || fail "no holder right after the launch"
for i in $(seq 1 60); do
  pgrep -u "$TEST_USER" -f "$WORK/bin/hpclaunch-node holder" >/dev/null || break
  sleep 0.1
done
pgrep -u "$TEST_USER" -f "$WORK/bin/hpclaunch-node holder" && fail "the idle named container is still there after 6 s"
expect_no_leftovers "$baseline"
echo PASS
