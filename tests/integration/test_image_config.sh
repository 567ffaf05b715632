#!/usr/bin/env bash
# The image's own configuration (issue 14, part 1): /.hpclaunch/config.json
# as `hpclaunch import` writes it (Entrypoint, Cmd, WorkingDir, User) and an
# enroot image's /etc/rc; without a program the image's Entrypoint + Cmd run,
# --entrypoint / --no-entrypoint / --entrypoint-wrap change that, --workdir
# wins over WorkingDir; registry images that cannot be run are one clear line.
source "$(dirname "$0")/lib.sh"
baseline=$(fuse_connections)
base=$WORK/base
unsquashfs -q -n -d "$base" "$IMAGE" >/dev/null

squash() {  # NAME
  mksquashfs "$base" "$WORK/$1.sqsh" -quiet -noappend -comp gzip >/dev/null
  [ "$(id -u)" = 0 ] && chown "$TEST_USER" "$WORK/$1.sqsh"
  return 0
}
launch() {  # ARGS... -> out, code
  set +e
  out=$(hl "$@" 2>&1)
  code=$?
  set -e
  echo "$out"
}

mkdir -p "$base/.hpclaunch" "$base/opt/work"
printf '#!/bin/sh\necho "entry: $*"\nexec "$@"\n' >"$base/entry.sh"
chmod 755 "$base/entry.sh"
cat >"$base/.hpclaunch/config.json" <<'JSON'
{"Env": ["IMAGE_VAR=from-image"], "WorkingDir": "/opt/work", "Entrypoint": ["/entry.sh"],
 "Cmd": ["sh", "-c", "echo cmd-ran in $(pwd) IMAGE_VAR=$IMAGE_VAR"], "User": "4242:4242"}
JSON
echo 'IMAGE_VAR=from-image' >>"$base/etc/environment"
squash oci

echo "(1) no program: Entrypoint + Cmd, in WorkingDir, the User warning once"
launch -n 2 --image "$WORK/oci.sqsh"
expect_eq 0 "$code" "exit status of the image's own command"
expect_eq 2 "$(grep -c '^entry: sh -c' <<<"$out")" "ranks that ran the entrypoint"
expect_eq 2 "$(grep -cx 'cmd-ran in /opt/work IMAGE_VAR=from-image' <<<"$out")" "ranks that ran Cmd in WorkingDir"
expect_eq 1 "$(grep -c "asks to run as user .4242:4242.; ranks run as you" <<<"$out")" "User warnings"

echo "(2) a program runs alone, in WorkingDir; --workdir wins"
launch -n 1 --image "$WORK/oci.sqsh" sh -c pwd
grep -qx /opt/work <<<"$out" || fail "WorkingDir not applied"
grep -q '^entry:' <<<"$out" && fail "the entrypoint wrapped a given program"
launch -n 1 --image "$WORK/oci.sqsh" --workdir /tmp sh -c pwd
grep -qx /tmp <<<"$out" || fail "--workdir does not win over WorkingDir"

echo "(3) --entrypoint-wrap, --no-entrypoint, --entrypoint"
launch -n 1 --image "$WORK/oci.sqsh" --entrypoint-wrap echo wrapped
grep -qx 'entry: echo wrapped' <<<"$out" || fail "--entrypoint-wrap did not run the entrypoint"
grep -qx wrapped <<<"$out" || fail "--entrypoint-wrap did not run the program"
launch -n 1 --image "$WORK/oci.sqsh" --no-entrypoint
grep -q '^entry:' <<<"$out" && fail "--no-entrypoint ran the entrypoint"
grep -qx 'cmd-ran in /opt/work IMAGE_VAR=from-image' <<<"$out" || fail "--no-entrypoint did not run Cmd"
launch -n 1 --image "$WORK/oci.sqsh" --entrypoint /bin/echo replaced
expect_eq "replaced" "$(grep -v warning <<<"$out")" "--entrypoint PROG ARGS"

echo "(4) an image with nothing to run, a broken config.json: one line each"
launch -n 2 --image "$IMAGE"
expect_eq 1 "$code" "exit status without a program or Cmd"
expect_eq 1 "$(grep -c . <<<"$out")" "lines of output"
grep -q "error: no program given, and image .*solver.sqsh. has no Entrypoint or Cmd; give one" <<<"$out" ||
  fail "unclear error: $out"
echo '{"Cmd": "not a list"}' >"$base/.hpclaunch/config.json"
squash badconfig
launch -n 2 --image "$WORK/badconfig.sqsh" true
expect_eq 1 "$(grep -c . <<<"$out")" "lines of output (bad config.json)"
grep -q "error: image .*badconfig.sqsh.: ./.hpclaunch/config.json. has a bad .Cmd.; re-import the image" <<<"$out" ||
  fail "unclear error: $out"

echo "(5) an enroot image: /etc/rc is its entrypoint"
rm -rf "$base/.hpclaunch"
printf 'echo "rc-ran: $*"\ncd /opt/work\nif [ $# -gt 0 ]; then exec "$@"; fi\npwd\n' >"$base/etc/rc"
squash enroot
launch -n 1 --image "$WORK/enroot.sqsh"
grep -qx 'rc-ran: ' <<<"$out" || fail "/etc/rc did not run"
grep -qx '/opt/work' <<<"$out" || fail "/etc/rc did not run to its end"
launch -n 1 --image "$WORK/enroot.sqsh" --entrypoint-wrap echo hi
grep -qx 'rc-ran: echo hi' <<<"$out" || fail "/etc/rc did not wrap the program"

echo "(6) --image docker://...: an unreachable registry is the import's one line; exec refuses"
mkdir -p "$WORK/home"
[ "$(id -u)" = 0 ] && chown "$TEST_USER" "$WORK/home"
set +e
out=$(as_user env HOME="$WORK/home" timeout 60 "$HPCLAUNCH" -n 1 --insecure --image docker://127.0.0.1:1/test/app:v1 true 2>&1)
code=$?
set -e
echo "$out"
expect_eq 1 "$code" "exit status (unreachable registry)"
expect_eq 1 "$(grep -c . <<<"$out")" "lines of output (unreachable registry)"
grep -q "error: cannot fetch image test/app:v1 from 127.0.0.1:1: " <<<"$out" || fail "unclear import error: $out"
set +e
out=$(as_user "$HPCLAUNCH" exec --image docker://ubuntu:22.04 true 2>&1)
set -e
expect_eq 1 "$(grep -c . <<<"$out")" "lines of output (exec docker://)"
grep -q "error: --image .docker://ubuntu:22.04. is a registry image, not a file; import it once: hpclaunch import" <<<"$out" ||
  fail "unclear docker:// error: $out"

expect_no_leftovers "$baseline"
echo PASS
