#!/usr/bin/env bash
# Host MPI injection (issue 14, part 5): examples/hooks/host-mpi.sh as a site
# hook. An image whose Open MPI is broken (its libmpi.so.40 replaced by a stub
# whose MPI_Init fails) fails MPI hello without the hook and runs it with the
# hook, which binds the host's libmpi.so.40 and its closure over the image's;
# an image whose MPI has another soname is refused with one line naming both.
source "$(dirname "$0")/lib.sh"
baseline=$(fuse_connections)
base=$WORK/base
unsquashfs -q -n -d "$base" "$IMAGE" >/dev/null
lib=$base/usr/lib/x86_64-linux-gnu
real=$(readlink -f "$lib/libmpi.so.40")
cat >"$WORK/stub.c" <<'C'
#include <stdio.h>
int MPI_Init(int *argc, char ***argv) { (void)argc; (void)argv; fprintf(stderr, "stub MPI_Init: broken\n"); return 1; }
C
gcc -shared -fPIC -Wl,-soname,libmpi.so.40 -o "$real" "$WORK/stub.c"
squash() {  # NAME
  mksquashfs "$base" "$WORK/$1.sqsh" -quiet -noappend -comp gzip >/dev/null
  [ "$(id -u)" = 0 ] && chown "$TEST_USER" "$WORK/$1.sqsh"
  return 0
}
squash broken-mpi
site=$WORK/site
mkdir -p "$site/hooks.d"
cp "$HPCLAUNCH_SOURCE/examples/hooks/host-mpi.sh" "$site/hooks.d/50-host-mpi.sh"
[ "$(id -u)" = 0 ] && chown -R "$TEST_USER" "$site"
launch() {  # CONFIG_DIR ARGS...
  local dir=$1
  shift
  set +e
  out=$(cd "$WORK" && "${RUN_AS[@]}" env OMPI_MCA_mpi_yield_when_idle=1 HPCLAUNCH_CONFIG_DIR="$dir" \
    XDG_CONFIG_HOME="$WORK/nouser" timeout 120 "$HPCLAUNCH" "$@" 2>&1)
  code=$?
  set -e
  echo "$out"
}

echo "(1) without the hook the image's broken MPI fails"
launch "$WORK/nosite" -n 2 --image "$WORK/broken-mpi.sqsh" hello
[ "$code" != 0 ] || fail "hello ran with a broken libmpi"
grep -q "stub MPI_Init: broken\|symbol lookup error" <<<"$out" || fail "not the stub's failure: $out"

echo "(2) with the hook the host's MPI runs it"
launch "$site" -n 2 --image "$WORK/broken-mpi.sqsh" hello
expect_eq 0 "$code" "exit status of hello with the host MPI hook"
expect_eq 2 "$(grep -c '^hello rank=' <<<"$out")" "ranks that said hello"

echo "(3) a soname mismatch is one line naming both"
rm "$lib"/libmpi.so.40*
gcc -shared -fPIC -Wl,-soname,libmpi.so.12 -o "$lib/libmpi.so.12" "$WORK/stub.c"
squash mpich-abi
launch "$site" -n 1 --image "$WORK/mpich-abi.sqsh" hello
expect_eq 1 "$code" "exit status with mismatched sonames"
expect_eq 1 "$(grep -c . <<<"$out")" "lines of output (mismatch)"
grep -q "error: hook .50-host-mpi.sh. (.*) failed (exit 1): host-mpi: the host's libmpi.so.40 (Open MPI) does not match the image's MPI (libmpi.so.12); the image needs" <<<"$out" ||
  fail "unclear mismatch error: $out"
expect_no_leftovers "$baseline"
echo PASS
