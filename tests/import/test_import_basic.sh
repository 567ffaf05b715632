#!/usr/bin/env bash
# A multi-layer image (modes, owners, hard links, symlinks, whiteouts written by
# umoci, an opaque dir and a whiteout written by hand) imported as the test user
# in both reference forms; its contents equal `umoci unpack` of the same image;
# caches fill as documented; a second import of the digest is a cache hit (≤ 1 s);
# --json and plain progress; -o DIR; an existing output is kept without --force.
source "$(dirname "$0")/lib.sh"

layer1() {
  mkdir -p "$ROOTFS"/{etc,usr/bin,data/keep,data/gone,opaque/old,private}
  echo "hello" >"$ROOTFS/etc/hello"
  head -c 300000 /dev/urandom >"$ROOTFS/usr/bin/tool"
  chmod 4755 "$ROOTFS/usr/bin/tool"
  echo secret >"$ROOTFS/private/key"
  chmod 600 "$ROOTFS/private/key"
  chmod 700 "$ROOTFS/private"
  chown -R 1234:5678 "$ROOTFS/private"
  echo a >"$ROOTFS/data/keep/a"
  echo b >"$ROOTFS/data/gone/b"
  echo old >"$ROOTFS/opaque/old/file"
  echo old >"$ROOTFS/opaque/top"
  echo "removed later" >"$ROOTFS/etc/obsolete"
}

layer2() {
  rm -rf "$ROOTFS/data/gone" "$ROOTFS/etc/obsolete"  # -> whiteouts
  echo "hello again" >"$ROOTFS/etc/hello"
  ln "$ROOTFS/usr/bin/tool" "$ROOTFS/usr/bin/tool-hardlink"
  ln -s tool "$ROOTFS/usr/bin/tool-symlink"
  ln -s /etc/hello "$ROOTFS/etc/absolute-link"
  mkdir -p "$ROOTFS/home/user"
  echo mine >"$ROOTFS/home/user/file"
  chown -R 1000:1000 "$ROOTFS/home/user"
  touch -d '2001-02-03 04:05:06' "$ROOTFS/home/user/file"
}

layout=$(new_layout basic)
add_layer "$layout" layer1
add_layer "$layout" layer2
# Layer 3 by hand: an opaque directory and an explicit whiteout.
hand=$WORK/build/hand
mkdir -p "$hand/opaque" "$hand/data/keep"
: >"$hand/opaque/.wh..wh..opq"
echo new >"$hand/opaque/new"
: >"$hand/data/keep/.wh.a"
echo c >"$hand/data/keep/c"
add_tar_layer "$layout" "$hand"
push "$layout" "$NS/basic:v1"

# The registry:port form, default output name, plain progress lines (no TTY).
log=$(hl_import --insecure "docker://$REG/$NS/basic:v1" 2>&1)
out=$WORK/out/127.0.0.1+5000+$NS+basic+v1.sqsh
[ -f "$out" ] || fail "default output name: $(ls "$WORK/out")"
expect_eq "$TEST_USER" "$(stat -c %U "$out")" "owner of the output"
expect_same_tree "$layout" "$out"
grep -q "3 layers" <<<"$log" || fail "no summary line: $log"
[ "$(grep -c '^hpclaunch: layer [0-9]/3 sha256:[0-9a-f]\{12\} .* verified' <<<"$log")" = 3 ] ||
  fail "expected 3 verified layer lines: $log"
listing=$(squashfs_listing "$out")
grep -q '^./opaque/new ' <<<"$listing" || fail "opaque dir lost its new file"
grep -q '^./opaque/top ' <<<"$listing" && fail "opaque dir kept a lower file"
grep -q '^./opaque/old' <<<"$listing" && fail "opaque dir kept a lower dir"
grep -q '^./data/gone' <<<"$listing" && fail "whiteout of data/gone not applied"
grep -q '^./data/keep/a ' <<<"$listing" && fail "explicit whiteout of data/keep/a not applied"
grep -q '^./usr/bin/tool 0o4755 0:0 file links=2 ' <<<"$listing" || fail "setuid hard-linked tool wrong"
grep -q '^./private 0o700 1234:5678 dir' <<<"$listing" || fail "owner/mode of /private wrong"

# Caches: every layer and the config by digest, the image by manifest digest.
manifest=$(manifest_of "$NS/basic:v1")
mdigest=$(manifest_digest_of "$NS/basic:v1")
for d in $(python3 -c 'import json,sys; m=json.loads(sys.argv[1]); print(" ".join([m["config"]["digest"]] + [l["digest"] for l in m["layers"]]))' "$manifest"); do
  [ -f "$CACHE/blobs/sha256/${d#sha256:}" ] || fail "blob $d not in the cache"
  expect_eq "${d#sha256:}" "$(sha256sum "$CACHE/blobs/sha256/${d#sha256:}" | cut -d' ' -f1)" "cached blob content"
done
[ -f "$CACHE/images/$mdigest.sqsh" ] || fail "image $mdigest not in the image cache: $(ls "$CACHE/images")"
compgen -G "$CACHE/blobs/sha256/*.partial" >/dev/null && fail "partial files left in the blob cache"

# The enroot form, pinned by digest: a cache hit that only fetches the manifest.
t=$(seconds_of hl_import --insecure "docker://127.0.0.1:5000#$NS/basic@$mdigest" -o pinned.sqsh)
awk -v t="$t" 'BEGIN { exit !(t <= 1.0) }' || fail "second import of the same digest took $t s (> 1 s)"
cmp "$out" "$WORK/out/pinned.sqsh" || fail "the cached image differs"
echo "second import: $t s"
# -o DIR: the default name in DIR.
mkdir "$WORK/out/sub"
chown "$TEST_USER" "$WORK/out/sub"
hl_import --insecure "docker://$REG/$NS/basic:v1" -o sub 2>/dev/null || fail "-o DIR failed"
[ -f "$WORK/out/sub/127.0.0.1+5000+$NS+basic+v1.sqsh" ] || fail "-o DIR: $(ls "$WORK/out/sub")"

# --json: one object per line on stdout, ending with "done".
json=$(hl_import --insecure --json "docker://$REG/$NS/basic:v1" -o json.sqsh 2>/dev/null)
python3 - "$json" <<'EOF' || fail "bad --json output: $json"
import json, sys
events = [json.loads(line) for line in sys.argv[1].splitlines()]
assert events[0]["event"] == "manifest" and events[0]["layers"] == 3, events[0]
assert events[-1]["event"] == "done" and events[-1]["from_image_cache"] is True, events[-1]
assert events[-1]["output"].endswith("/json.sqsh")
EOF

# JSON with a cold cache: layer events with states, a build event.
rm -rf "$CACHE"
json=$(hl_import --insecure --json "docker://$REG/$NS/basic:v1" -o json2.sqsh 2>/dev/null)
python3 - "$json" <<'EOF' || fail "bad cold --json output: $json"
import json, sys
events = [json.loads(line) for line in sys.argv[1].splitlines()]
kinds = [e["event"] for e in events]
assert "build" in kinds, kinds
verified = [e for e in events if e["event"] == "layer" and e["state"] == "verified"]
assert len(verified) == 3, verified
assert all(e["bytes"] == e["size"] for e in verified)
assert events[-1]["event"] == "done" and events[-1]["from_image_cache"] is False
EOF
expect_same_tree "$layout" "$WORK/out/json2.sqsh"

# An existing output is not replaced without --force.
err=$(hl_import --insecure "docker://$REG/$NS/basic:v1" -o json2.sqsh 2>&1 >/dev/null) &&
  fail "replaced an existing output"
[[ "$err" == "hpclaunch: error: \`$WORK/out/json2.sqsh\` already exists; "* ]] || fail "wrong error: $err"
hl_import --insecure --force "docker://$REG/$NS/basic:v1" -o json2.sqsh 2>/dev/null || fail "--force did not replace"
echo "PASS"
