#!/usr/bin/env bash
# Several FUSE serving threads (a libsquashfuse handle each): 32 ranks each
# dlopen the same 1000 libraries from the image (bench/storm) and every call
# returns the library's value, with 4 threads on the session's /dev/fuse fd,
# 4 threads on a clone each (FUSE_DEV_IOC_CLONE), the default count, and one
# thread (the holder's own poll loop); -v says which served.
source "$(dirname "$0")/lib.sh"
baseline=$(fuse_connections)
"$HPCLAUNCH_SOURCE/bench/storm/make-storm-image" "$WORK/storm" 1000 >/dev/null
[ "$(id -u)" = 0 ] && chown -R "$TEST_USER" "$WORK/storm"
STORM=$WORK/storm/storm.sqsh

storm() {  # what -- hpclaunch options...: 32 ranks, all 1000 libraries each
  local what=$1 out ok
  shift
  out=$(hl -n 32 -v --image "$STORM" "$@" storm /libs 1000 2>&1) || fail "$what: $out"
  ok=$(grep -c '^storm rank=[0-9]* libs=1000 seconds=' <<<"$out" || true)
  expect_eq 32 "$ok" "$what: ranks that loaded all 1000 libraries"
  echo "$out"
}

out=$(storm "4 threads" --fuse-threads 4)
grep -q 'FUSE served by 4 threads$' <<<"$out" || fail "4 threads: -v does not say so: $out"
grep -Eq 'FUSE requests served \(4 threads\): lookup=[0-9]+' <<<"$out" || fail "4 threads: no request counts: $out"

out=$(HPCLAUNCH_FUSE_CLONE_FD=1 storm "4 threads, a /dev/fuse clone each" --fuse-threads 4)
grep -q 'FUSE served by 4 threads (a /dev/fuse clone each)' <<<"$out" || fail "clone fd: -v does not say so: $out"

# The default: one per local rank, at most the cpus we may run on (and 4).
cpus=$(nproc)
want=$((cpus < 4 ? cpus : 4))
out=$(storm "default")
grep -q "FUSE served by $want thread" <<<"$out" || fail "default: expected $want threads: $out"

out=$(storm "one thread" --fuse-threads 1)
grep -q 'FUSE served by 1 thread$' <<<"$out" || fail "one thread: -v does not say so: $out"

# A bad count is refused by the option parser, before anything starts.
out=$(hl -n 1 --image "$STORM" --fuse-threads -1 true 2>&1) && fail "--fuse-threads -1 accepted"
grep -q -- '--fuse-threads' <<<"$out" || fail "--fuse-threads -1: $out"

expect_no_leftovers "$baseline"
echo PASS
