#!/usr/bin/env bash
# `hpclaunch run --image docker://REF` (issue 14, part 6): the front end
# imports the image once into the run cache (progress as `hpclaunch import`
# shows it), then runs the file: the image's Env, WorkingDir, Entrypoint and
# Cmd apply; a second run finds the image in the import cache; `hpclaunch
# exec` refuses a registry image with one line.
source "$(dirname "$0")/lib.sh"
cp "$BUILD/hpclaunch-node" "$BUILD/hpclaunch-join" "$WORK/bin/"
chown -R "$TEST_USER" "$WORK/bin"
layout=$(new_layout app)
unsquashfs -q -n -d "$WORK/build/rootfs" "$BUILD/examples/solver.sqsh" >/dev/null
mkdir -p "$WORK/build/rootfs/opt/work"
printf '#!/bin/sh\necho "entry: $*"\nexec "$@"\n' >"$WORK/build/rootfs/entry.sh"
chmod 755 "$WORK/build/rootfs/entry.sh"
add_tar_layer "$layout" "$WORK/build/rootfs"
umoci config --image "$layout:v1" --config.env IMAGE_VAR=from-registry \
  --config.env PATH=/usr/local/bin:/usr/bin:/bin --config.workingdir /opt/work \
  --config.entrypoint /entry.sh --config.cmd sh --config.cmd -c --config.cmd 'echo cmd in $(pwd) $IMAGE_VAR' >/dev/null
push "$layout" "$NS/app:v1"

run_as_user() {  # ARGS...: hpclaunch as the test user with its own HOME
  (cd "$WORK/out" && runuser -u "$TEST_USER" -- env -i PATH="$PATH" HOME="$WORK/home" OMPI_MCA_mpi_yield_when_idle=1 \
    timeout 300 "$HPCLAUNCH" "$@")
}

echo "(1) run imports, then runs the image's Entrypoint + Cmd in its WorkingDir"
out=$(run_as_user -n 2 --insecure --image "docker://$REG/$NS/app:v1" 2>&1)
echo "$out"
expect_eq 2 "$(grep -c '^entry: sh -c' <<<"$out")" "ranks that ran the entrypoint"
expect_eq 2 "$(grep -cx 'cmd in /opt/work from-registry' <<<"$out")" "ranks that ran Cmd with the image's Env"
cached=$(find "$CACHE/run" -name '*.sqsh')
expect_eq 1 "$(grep -c . <<<"$cached")" "images in the run cache"

echo "(2) a second run: the import cache has it"
start=$SECONDS
out=$(run_as_user -n 1 --insecure --image "docker://$REG/$NS/app:v1" cat /etc/hpclaunch-example-marker 2>&1)
echo "$out"
grep -qx hpclaunch-example-image <<<"$out" || fail "the second run did not run"
[ $((SECONDS - start)) -le 20 ] || fail "the second run took $((SECONDS - start)) s"
expect_eq "$cached" "$(find "$CACHE/run" -name '*.sqsh')" "the run cache after a second run"

echo "(3) a missing image is the import's one line; exec refuses registry images"
set +e
out=$(run_as_user -n 1 --insecure --image "docker://$REG/$NS/missing:v1" true 2>&1)
code=$?
set -e
echo "$out"
[ "$code" != 0 ] || fail "a missing image ran"
expect_eq 1 "$(grep -c 'error:' <<<"$out")" "error lines (missing image)"
grep -q "error: image $NS/missing:v1 not found on $REG" <<<"$out" || fail "unclear missing-image error"
set +e
out=$(run_as_user exec --image "docker://$REG/$NS/app:v1" true 2>&1)
set -e
grep -qx "hpclaunch: error: --image .docker://$REG/$NS/app:v1. is a registry image, not a file; import it once: .*" \
  <<<"$out" || fail "unclear exec error: $out"
echo PASS
