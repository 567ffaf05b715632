#!/usr/bin/env bash
# Images are untrusted input (issue 9, points 4, 5, 8 and 9): a FIFO where
# hpclaunch reads a file fails at once with one line; image symlinks at mount
# targets (/tmp -> /etc, /var/tmp -> ../../etc) never make hpclaunch write on the
# host; a $TMPDIR behind a symlink works; a garbage SLURM_NTASKS is one line.
source "$(dirname "$0")/lib.sh"
baseline=$(fuse_connections)
base=$WORK/base
unsquashfs -q -n -d "$base" "$IMAGE" >/dev/null

variant() {  # NAME: squash $base as it is now into $WORK/NAME.sqsh
  mksquashfs "$base" "$WORK/$1.sqsh" -quiet -noappend -comp gzip >/dev/null
  [ "$(id -u)" = 0 ] && chown "$TEST_USER" "$WORK/$1.sqsh"
  return 0
}

launch() {  # ARGS... -> out, code, seconds
  local start=$SECONDS
  set +e
  out=$(hl "$@" 2>&1)
  code=$?
  set -e
  seconds=$((SECONDS - start))
}

for file in passwd environment; do
  echo "(FIFO) /etc/$file is a FIFO"
  cp -a "$base/etc/$file" "$WORK/$file.saved"
  rm "$base/etc/$file"
  mkfifo "$base/etc/$file"
  variant "fifo-$file"
  rm "$base/etc/$file"
  cp -a "$WORK/$file.saved" "$base/etc/$file"
  launch -n 2 --image "$WORK/fifo-$file.sqsh" true
  echo "$out"
  expect_eq 1 "$code" "exit status with a FIFO at /etc/$file"
  [ "$seconds" -le 10 ] || fail "a FIFO at /etc/$file took $seconds s (a hang until the join timeout?)"
  expect_eq 1 "$(grep -c . <<<"$out")" "lines of output (FIFO at /etc/$file)"
  grep -q "error: image .*fifo-$file.sqsh.: ./etc/$file. of the image is not a regular file (a FIFO); the image is broken" <<<"$out" ||
    fail "unclear FIFO error: $out"
  expect_no_leftovers "$baseline"
done

echo "(symlinks) /tmp -> /etc and /var/tmp -> ../../etc in the image"
for f in /tmp/hosts /tmp/resolv.conf; do [ -e "$f" ] && fail "$f exists before the test; remove it"; done
rm -rf "$base/tmp" "$base/var/tmp"
ln -s /etc "$base/tmp"
ln -s ../../etc "$base/var/tmp"
variant symlinks
launch -n 2 --image "$WORK/symlinks.sqsh" --env TMPDIR=/var/tmp sh -c 'test -d /tmp && ! test -L /tmp && test -s /etc/passwd && echo ok'
echo "$out"
expect_eq 0 "$code" "launch of an image with symlinked /tmp"
expect_eq 2 "$(grep -c '^ok$' <<<"$out")" "ranks that saw a real /tmp and the image's /etc"
for f in /tmp/hosts /tmp/resolv.conf /tmp/passwd /tmp/group; do
  [ -e "$f" ] && fail "the image's symlinks made hpclaunch create $f on the host"
done
expect_no_leftovers "$baseline"

echo "(environment) a byte that is not UTF-8 in the image's /etc/environment"
rm -f "$base/tmp" "$base/var/tmp"
mkdir -p "$base/tmp" "$base/var/tmp"
cp -a "$base/etc/environment" "$WORK/environment.saved"
printf 'GREETING=caf\xe9\n' >>"$base/etc/environment"
variant latin1-env
cp -a "$WORK/environment.saved" "$base/etc/environment"
launch -n 2 --image "$WORK/latin1-env.sqsh" sh -c 'echo "got ${#GREETING}"'
echo "$out"
expect_eq 0 "$code" "launch of an image whose environment is not UTF-8"
expect_eq 2 "$(grep -c '^got ' <<<"$out")" "ranks that got the image environment"
expect_no_leftovers "$baseline"

echo "(TMPDIR) behind a symlink"
mkdir -p "$WORK/realtmp"
chmod 1777 "$WORK/realtmp"
ln -s "$WORK/realtmp" "$WORK/linktmp"
set +e
out=$(cd "$WORK" && "${RUN_AS[@]}" env TMPDIR="$WORK/linktmp" OMPI_MCA_mpi_yield_when_idle=1 timeout 60 "$HPCLAUNCH" \
  -n 2 --image "$IMAGE" hello 2>&1)
code=$?
set -e
echo "$out"
expect_eq 0 "$code" "launch with TMPDIR behind a symlink"
expect_eq 2 "$(grep -c '^hello rank=' <<<"$out")" "ranks with TMPDIR behind a symlink"

echo "(environment) a garbage SLURM_NTASKS"
set +e
out=$(cd "$WORK" && "${RUN_AS[@]}" env SLURM_JOB_ID=1 SLURM_NTASKS=abc "$HPCLAUNCH" --dry-run --image "$IMAGE" true 2>&1)
code=$?
set -e
echo "$out"
expect_eq 1 "$code" "exit status with SLURM_NTASKS=abc"
expect_eq 1 "$(grep -c . <<<"$out")" "lines of output"
grep -q "^hpclaunch: error: SLURM_NTASKS=.abc. is not a whole number" <<<"$out" || fail "unclear error: $out"

expect_no_leftovers "$baseline"
echo PASS
