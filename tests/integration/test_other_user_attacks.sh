#!/usr/bin/env bash
# What a second unprivileged user can do to a launch (issue 9, points 1 and 2):
# no per-launch name is on a command line or anywhere they can read, they cannot
# enter the runtime dir, and squatting it (a dir of their own, or a symlink to the
# victim's data) gets one line naming them — never a hang, never lost files.
source "$(dirname "$0")/lib.sh"
if [ "$(id -u)" != 0 ]; then
  echo "SKIP: needs root to act as the second user $OTHER_USER"
  exit 0
fi
id "$OTHER_USER" >/dev/null || fail "second test user $OTHER_USER missing (scripts/setup creates it)"
baseline=$(fuse_connections)
victim_uid=$(id -u "$TEST_USER")
other_uid=$(id -u "$OTHER_USER")
mkdir -p "$WORK/data/sub"
echo precious >"$WORK/data/sub/file"
chown -R "$TEST_USER" "$WORK/data"

launch_in() {  # TMPDIR ARGS... -> sets out, code
  local tmp=$1
  shift
  set +e
  out=$(cd "$WORK" && "${RUN_AS[@]}" env TMPDIR="$tmp" OMPI_MCA_mpi_yield_when_idle=1 timeout 60 "$HPCLAUNCH" "$@" 2>&1)
  code=$?
  set -e
}

echo "(1) nothing of a running launch is readable by the other user"
tmp=$(fresh_tmp tmp1)
(cd "$WORK" && exec "${RUN_AS[@]}" env TMPDIR="$tmp" OMPI_MCA_mpi_yield_when_idle=1 timeout 60 "$HPCLAUNCH" \
  -n 2 --image "$IMAGE" solver --steps 100000000 --report 1000000 >"$WORK/out1" 2>&1) &
launcher=$!
trap 'kill -TERM "$launcher" 2>/dev/null || true; pkill -TERM -u "$TEST_USER" -f "$HPCLAUNCH" 2>/dev/null || true; cleanup_work' EXIT
for i in $(seq 1 100); do
  [ "$(pgrep -u "$TEST_USER" -x solver | wc -l)" -ge 2 ] && break
  sleep 0.1
done
[ "$(pgrep -u "$TEST_USER" -x solver | wc -l)" -ge 2 ] || fail "the solver did not start: $(cat "$WORK/out1")"
runtime="$tmp/hpclaunch-$victim_uid"
group=$(ls "$runtime" | grep '^l-' | head -n 1)
[ -n "$group" ] || fail "no launch dir in $runtime while the launch runs"
nonce=${group#l-}
as_other sh -c 'for p in $(pgrep -u "$1"); do tr "\0" " " </proc/$p/cmdline; echo; done' sh "$TEST_USER" >"$WORK/cmdlines"
grep -q solver "$WORK/cmdlines" || fail "the other user saw no command line at all (test broken?)"
grep -q "$nonce" "$WORK/cmdlines" && fail "the launch id is on a world-readable command line: $(grep "$nonce" "$WORK/cmdlines")"
as_other sh -c 'cat /proc/$(pgrep -u "$1" -x solver | head -n 1)/environ' sh "$TEST_USER" >/dev/null 2>&1 &&
  fail "the other user can read a rank's environment"
as_other ls "$runtime" >/dev/null 2>&1 && fail "the other user can list the runtime dir $runtime"
[ "$(stat -c %a "$runtime")" = 700 ] || fail "runtime dir mode $(stat -c %a "$runtime")"
grep -q "@hpclaunch" /proc/net/unix && fail "an abstract (world-visible, squattable) hpclaunch socket exists"
kill -TERM "$(pgrep -u "$TEST_USER" -f "^$HPCLAUNCH -n 2" | head -n 1)"
wait "$launcher" || true
trap cleanup_work EXIT

echo "(2) the other user squats the runtime dir: one line naming them"
tmp=$(fresh_tmp tmp2)
as_other mkdir -m 777 "$tmp/hpclaunch-$victim_uid"
launch_in "$tmp" -n 2 --image "$IMAGE" true
echo "$out"
expect_eq 1 "$code" "exit status with a squatted runtime dir"
expect_eq 1 "$(grep -c . <<<"$out")" "lines of output"
grep -q "^hpclaunch: error: private directory .$tmp/hpclaunch-$victim_uid. belongs to uid $other_uid ($OTHER_USER), not to you" <<<"$out" ||
  fail "error does not name the other user: $out"

echo "(3) the other user plants a symlink to the victim's data there: refused, nothing deleted"
tmp=$(fresh_tmp tmp3)
as_other ln -s "$WORK/data" "$tmp/hpclaunch-$victim_uid"
launch_in "$tmp" -n 2 --image "$IMAGE" true
echo "$out"
expect_eq 1 "$code" "exit status with a symlinked runtime dir"
grep -q "is a symlink or not a directory" <<<"$out" || fail "no symlink error: $out"
[ "$(cat "$WORK/data/sub/file")" = precious ] || fail "the victim's data was touched"

expect_no_leftovers "$baseline"
echo PASS
