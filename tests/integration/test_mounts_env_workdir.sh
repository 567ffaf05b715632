#!/usr/bin/env bash
# --mount (ro and rw), --env, --workdir, the image's /etc/environment, $HOME
# and the generated passwd entry, as a user sees them inside.
source "$(dirname "$0")/lib.sh"
mkdir -p "$WORK/data" "$WORK/rw"
echo "host-data" >"$WORK/data/file"
[ "$(id -u)" = 0 ] && chown -R "$TEST_USER" "$WORK/data" "$WORK/rw"
out=$(hl -n 1 --image "$IMAGE" --mount "$WORK/data:/data:ro" --mount rw:/scratch --env GREETING=hi \
  --workdir /data sh -c 'cat /data/file; pwd; echo "GREETING=$GREETING"; echo "IMG=$HPCLAUNCH_EXAMPLE_IMAGE";
    echo "PATH=$PATH"; if touch /data/new 2>/dev/null; then echo data-writable; else echo data-readonly; fi;
    echo out >/scratch/written; id -un; test -d "$HOME" && echo home-ok')
echo "$out"
grep -qx "host-data" <<<"$out" || fail "--mount file not visible"
grep -qx "/data" <<<"$out" || fail "--workdir not applied"
grep -qx "GREETING=hi" <<<"$out" || fail "--env not applied"
grep -qx "IMG=1" <<<"$out" || fail "image /etc/environment not applied"
grep -qx "PATH=/usr/local/bin:/usr/bin:/bin" <<<"$out" || fail "PATH must come from the image"
grep -qx "data-readonly" <<<"$out" || fail ":ro mount is writable"
expect_eq "out" "$(cat "$WORK/rw/written")" "write through a rw --mount"
grep -qx "$TEST_USER" <<<"$out" || fail "no passwd entry for the user"
grep -qx "home-ok" <<<"$out" || fail "\$HOME not bound"
echo PASS
