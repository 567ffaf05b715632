#!/usr/bin/env bash
# Site and user configuration as data (issue 14, part 4): a site dir
# (HPCLAUNCH_CONFIG_DIR) and a user dir (XDG_CONFIG_HOME) with
# hpclaunch.conf, environ.d, mounts.d and hooks.d; the user's wins unless
# the site fixed it; `hpclaunch config` names where each value came from;
# a failing hook names itself, an unknown key names file and line.
source "$(dirname "$0")/lib.sh"
baseline=$(fuse_connections)
site=$WORK/site
user=$WORK/user
mkdir -p "$site/environ.d" "$site/mounts.d" "$site/hooks.d" "$user/hpclaunch/environ.d" "$user/hpclaunch/hooks.d" \
  "$WORK/sitedata"
echo site-data >"$WORK/sitedata/file"
cat >"$site/hpclaunch.conf" <<'CONF'
# defaults for long options
contain = true
env = FROM_CONF=conf
launcher = mpirun
CONF
cat >"$site/environ.d/10-site.env" <<'ENV'
SITE_VAR=site
fixed LOCKED=site
export SITE_PATH=/opt/site/bin:${PATH}
ENV
echo "$WORK/sitedata /sitedata none bind,ro,x-fixed 0 0" >"$site/mounts.d/10-data.fstab"
cat >"$site/hooks.d/10-mark.sh" <<'HOOK'
test -d "$HPCLAUNCH_ROOTFS/etc" || { echo "no root at $HPCLAUNCH_ROOTFS" >&2; exit 1; }
echo "HOOKED=$HPCLAUNCH_HOOK_NAME:$FROM_CONF" >>"$HPCLAUNCH_HOOK_ENVIRON"
HOOK
printf 'SITE_VAR=user\nLOCKED=user\n' >"$user/hpclaunch/environ.d/10-site.env"
echo 'contain = false' >"$user/hpclaunch/hpclaunch.conf"
[ "$(id -u)" = 0 ] && chown -R "$TEST_USER" "$site" "$user" "$WORK/sitedata"

launch() {  # ARGS...
  set +e
  out=$(cd "$WORK" && "${RUN_AS[@]}" env OMPI_MCA_mpi_yield_when_idle=1 HPCLAUNCH_CONFIG_DIR="$site" \
    XDG_CONFIG_HOME="$user" timeout 120 "$HPCLAUNCH" "$@" 2>&1)
  code=$?
  set -e
  echo "$out"
}
has() { grep -qx "$1" <<<"$out" || fail "$2: no line '$1'"; }

echo "(1) a launch with both configurations"
launch -n 2 --image "$IMAGE" sh -c 'env; cat /sitedata/file; echo x >/tmp/hl-site-$$ && echo tmp-written'
expect_eq 0 "$code" "exit status"
has SITE_VAR=user "the user's environ.d wins"
has LOCKED=site "a fixed site variable"
has SITE_PATH=/opt/site/bin:/usr/local/bin:/usr/bin:/bin "\${PATH} in environ.d is the image's"
has FROM_CONF=conf "env = in hpclaunch.conf"
has HOOKED=10-mark.sh:conf "the hook's HPCLAUNCH_HOOK_ENVIRON"
has site-data "mounts.d"
grep -q "warning: .*user/hpclaunch/environ.d/10-site.env:2: .LOCKED. is fixed by the site" <<<"$out" ||
  fail "no warning for the user's fixed variable"
# The host's /tmp took the writes: the user's hpclaunch.conf turned the site's contain off.
ls /tmp/hl-site-* >/dev/null 2>&1 || fail "the user's contain = false did not win"
rm -f /tmp/hl-site-*

echo "(1b) companion mode reads it too (and ignores run's launch options)"
launch exec --image "$IMAGE" sh -c 'echo "exec: $SITE_VAR $FROM_CONF"'
expect_eq 0 "$code" "exit status of hpclaunch exec"
has "exec: user conf" "hpclaunch exec with the configuration"

echo "(2) the command line wins over hpclaunch.conf, not over fixed entries"
launch -n 1 --image "$IMAGE" --contain --env FROM_CONF=cli sh -c 'echo $FROM_CONF'
has cli "--env over hpclaunch.conf"
launch -n 1 --image "$IMAGE" --env LOCKED=mine true
expect_eq 1 "$code" "exit status of --env on a fixed variable"
grep -q "error: --env .LOCKED=mine.: .LOCKED. is fixed by the site configuration (.*environ.d/10-site.env:2)" <<<"$out" ||
  fail "unclear fixed --env error"
launch -n 1 --image "$IMAGE" --mount "$WORK:/sitedata" true
grep -q "the mount at ./sitedata. is fixed by the site configuration" <<<"$out" || fail "unclear fixed mount error"

echo "(3) hpclaunch config: every value and where it came from"
launch config
grep -q "^site configuration: $site$" <<<"$out" || fail "site dir not shown"
grep -q "contain = false    # $user/hpclaunch/hpclaunch.conf:1" <<<"$out" || fail "option origin not shown"
grep -q "LOCKED=site    # $site/environ.d/10-site.env:2 (fixed)" <<<"$out" || fail "fixed env not shown"
grep -q "10-mark.sh    # $site/hooks.d/10-mark.sh" <<<"$out" || fail "hook not shown"

echo "(4) a failing hook stops the launch with one line naming it"
printf 'echo "checking the host MPI"\necho "no libmpi.so.40 on this host" >&2\nexit 3\n' >"$site/hooks.d/20-fail.sh"
[ "$(id -u)" = 0 ] && chown "$TEST_USER" "$site/hooks.d/20-fail.sh"
launch -n 2 --image "$IMAGE" true
expect_eq 1 "$code" "exit status with a failing hook"
expect_eq 1 "$(grep -vc warning <<<"$out")" "lines of output (failing hook)"
grep -q "error: hook .20-fail.sh. (.*hooks.d/20-fail.sh) failed (exit 3): checking the host MPI; no libmpi.so.40 on this host; fix the hook" <<<"$out" ||
  fail "unclear hook error: $out"
: >"$user/hpclaunch/hooks.d/20-fail.sh"  # an empty user hook of the same name disables it
[ "$(id -u)" = 0 ] && chown "$TEST_USER" "$user/hpclaunch/hooks.d/20-fail.sh"
launch -n 1 --image "$IMAGE" true
expect_eq 0 "$code" "exit status with the hook disabled by the user"

echo "(5) an unknown key names the file and the line"
printf 'contain = true\nbogus = 1\n' >"$site/hpclaunch.conf"
launch -n 1 --image "$IMAGE" true
expect_eq 1 "$code" "exit status with an unknown key"
expect_eq 1 "$(grep -c . <<<"$out")" "lines of output (unknown key)"
grep -q "error: .$site/hpclaunch.conf. line 2: unknown key .bogus." <<<"$out" || fail "unclear unknown key error"
expect_no_leftovers "$baseline"
echo PASS
