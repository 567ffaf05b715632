# Shared by the integration tests: stages the built binaries and the example
# image where the unprivileged test user can read them (a CI checkout under
# /root is not), runs hpclaunch as that user, and checks nothing is left.
set -euo pipefail

BUILD=${HPCLAUNCH_BUILD:?set by ctest}
TEST_USER=${HPCLAUNCH_TEST_USER:-hltest}
if [ "$(id -u)" = 0 ]; then
  RUN_AS=(runuser -u "$TEST_USER" --)
else
  RUN_AS=()
  TEST_USER=$(id -un)
fi

WORK=$(mktemp -d /tmp/hltest.XXXXXX)
chmod 755 "$WORK"
mkdir -p "$WORK/bin"
cp "$BUILD/hpclaunch" "$BUILD/hpclaunch-node" "$BUILD/hpclaunch-join" "$BUILD/hpclaunch-import" "$WORK/bin/"
cp "$BUILD/examples/solver.sqsh" "$WORK/solver.sqsh"
[ "$(id -u)" = 0 ] && chown -R "$TEST_USER" "$WORK"
IMAGE=$WORK/solver.sqsh
HPCLAUNCH=$WORK/bin/hpclaunch

cleanup_work() { rm -rf "$WORK"; }
trap cleanup_work EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# hpclaunch as the test user, from $WORK, with the yield setting every
# oversubscribed run on this 2-core machine needs.
hl() {
  (cd "$WORK" && "${RUN_AS[@]}" env OMPI_MCA_mpi_yield_when_idle=1 timeout 120 "$HPCLAUNCH" "$@")
}

as_user() { (cd "$WORK" && "${RUN_AS[@]}" "$@"); }

expect_eq() {  # expected actual what
  [ "$1" = "$2" ] || fail "$3: expected '$1', got '$2'"
}

# FUSE connections served by the test user's processes (its holders): other
# users' tests may run at the same time and mount their own.
fuse_connections() {
  local uid fd pid
  uid=$(id -u "$TEST_USER")
  { find /proc/[0-9]*/fd -maxdepth 1 -lname /dev/fuse 2>/dev/null || true; } | while read -r fd; do
    pid=${fd#/proc/}
    pid=${pid%%/*}
    [ "$(stat -c %u "/proc/$pid" 2>/dev/null)" = "$uid" ] || continue
    sed -n 's/^fuse_connection:[[:space:]]*//p' "/proc/$pid/fdinfo/${fd##*/}" 2>/dev/null || true
  done | sort -u | grep -c . || true
}

# This user's private runtime dir (common/private_dir.hpp): every per-launch
# name (rendezvous sockets, staging dirs, Open MPI session dirs) lives in it.
RUNTIME_DIR=/tmp/hpclaunch-$(id -u "$TEST_USER")

# Nothing of hpclaunch's may survive a launch: holders, FUSE connections,
# rendezvous sockets, staging dirs, Open MPI session dirs.
expect_no_leftovers() {  # fuse-baseline
  local i
  for i in $(seq 1 50); do  # processes may take a moment to be reaped
    if ! pgrep -u "$TEST_USER" -f "$WORK/bin/hpclaunch" >/dev/null && [ "$(fuse_connections)" -le "$1" ]; then break; fi
    sleep 0.1
  done
  pgrep -u "$TEST_USER" -af "$WORK/bin/hpclaunch" && fail "hpclaunch processes left"
  [ "$(fuse_connections)" -le "$1" ] || fail "FUSE connections left: $(fuse_connections) > $1"
  local left
  left=$(find "$RUNTIME_DIR" -mindepth 1 -maxdepth 1 2>/dev/null | head -n 5)
  [ -z "$left" ] || fail "launch dirs left in $RUNTIME_DIR: $left $(find "$RUNTIME_DIR" | head -n 20)"
  local d
  for d in /tmp/hpclaunch-?????? /tmp/ompi.hpclaunch-*; do
    [ -e "$d" ] && [ "$(stat -c %U "$d")" = "$TEST_USER" ] && fail "staging or session dir left: $d"
  done
  return 0
}

# The attacker in tests of what another user can do: a second unprivileged user.
OTHER_USER=${HPCLAUNCH_OTHER_USER:-hlevil}
as_other() { (cd /tmp && runuser -u "$OTHER_USER" -- "$@"); }

# A fresh sticky, world-writable directory like /tmp, for a launch whose
# runtime dir ($TMPDIR/hpclaunch-UID) must not exist yet.
fresh_tmp() {  # NAME -> path
  local d="$WORK/$1"
  mkdir -p "$d"
  chmod 1777 "$d"
  echo "$d"
}
