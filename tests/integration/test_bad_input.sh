#!/usr/bin/env bash
# Bad input: one clear line naming the problem and the fix, a non-zero exit,
# and nothing left behind.
source "$(dirname "$0")/lib.sh"
baseline=$(fuse_connections)

expect_one_line_error() {  # expected-exit pattern args...
  local want=$1 pattern=$2 err code
  shift 2
  set +e
  err=$(hl "$@" 2>&1 >/dev/null); code=$?
  set -e
  echo "$err"
  expect_eq "$want" "$code" "exit code of: $*"
  expect_eq 1 "$(grep -c . <<<"$err")" "lines of error output for: $*"
  grep -q "^hpclaunch: .*$pattern" <<<"$err" || fail "error for '$*' does not match '$pattern': $err"
}

echo "not a squashfs image" >"$WORK/text.sqsh"
head -c 500000 "$IMAGE" >"$WORK/truncated.sqsh"
[ "$(id -u)" = 0 ] && chown "$TEST_USER" "$WORK"/*.sqsh

expect_one_line_error 1 "image .*/missing.sqsh. does not exist; check the --image path" -n 2 --image missing.sqsh true
expect_one_line_error 1 "is not a squashfs image" -n 2 --image text.sqsh true
expect_one_line_error 1 "is truncated: its superblock says .* bytes, the file has 500000; .*copy the image again" \
  -n 2 --image truncated.sqsh true
expect_one_line_error 127 "program .no-such-program. not found in the container" -n 4 --image "$IMAGE" no-such-program
expect_one_line_error 1 "-n must be at least 1 (got 0)" -n 0 --image "$IMAGE" true
expect_one_line_error 1 "--mount ./nowhere.: expected SRC:DST" -n 1 --mount /nowhere --image "$IMAGE" true
expect_one_line_error 1 "--env .X.: expected KEY=VALUE" -n 1 --env X --image "$IMAGE" true

if [ "$(id -u)" = 0 ]; then
  # An unusable /dev/fuse only in a private mount namespace (a root-only file bound
  # over it): ctest runs tests in parallel, and the others need the real one.
  : >"$WORK/fuse-denied"
  chmod 600 "$WORK/fuse-denied"
  saved=("${RUN_AS[@]}")
  RUN_AS=(unshare --mount --propagation private
    bash -c 'mount --bind "$1" /dev/fuse && shift && exec runuser -u "$0" -- "$@"' "$TEST_USER" "$WORK/fuse-denied")
  expect_one_line_error 1 "cannot open ./dev/fuse.: Permission denied; .*chmod 666 /dev/fuse" -n 2 --image "$IMAGE" true
  RUN_AS=("${saved[@]}")
else
  echo "SKIP /dev/fuse permission case (needs root to bind over /dev/fuse)"
fi
expect_no_leftovers "$baseline"
echo PASS
