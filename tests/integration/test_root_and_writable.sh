#!/usr/bin/env bash
# --root (uid 0 inside, the image's root-owned files are root's) and --writable
# (writes anywhere, the image's own files too; gone with an unnamed launch), as a
# user uses them; without --writable the image stays read-only, with or without
# --root; the image file itself never changes.
source "$(dirname "$0")/lib.sh"
baseline=$(fuse_connections)
sum_before=$(sha256sum <"$IMAGE")

run1() { hl -n 1 --image "$IMAGE" "$@" 2>&1; }

out=$(run1 --root sh -c 'id -u; id -g; ls -ln /usr/bin/true')
echo "$out"
expect_eq 0 "$(sed -n 1p <<<"$out")" "uid inside with --root"
expect_eq 0 "$(sed -n 2p <<<"$out")" "gid inside with --root"
grep -q ' 0 0 .*/usr/bin/true$' <<<"$out" || fail "the image's root-owned files are not root's: $out"

out=$(run1 sh -c 'id -u; ls -ln /usr/bin/true')
expect_eq "$(id -u "$TEST_USER")" "$(sed -n 1p <<<"$out")" "uid inside without --root"

for flags in "" "--root"; do
  out=$(run1 $flags sh -c 'echo x >/usr/bin/new-file && echo written || echo refused')
  echo "$out"
  grep -qx refused <<<"$out" || fail "without --writable ($flags) /usr/bin took a write: $out"
  grep -q "Read-only file system" <<<"$out" || fail "no EROFS without --writable: $out"
done

out=$(run1 --writable sh -c 'echo hello >/usr/bin/new-file && cat /usr/bin/new-file; echo more >>/etc/passwd && echo etc-ok')
echo "$out"
grep -qx hello <<<"$out" || fail "--writable: writing an image directory failed: $out"
grep -qx etc-ok <<<"$out" || fail "--writable: appending to an image file failed: $out"

out=$(run1 --root --writable sh -c 'echo x >/usr/bin/made-by-root; ls -ln /usr/bin/made-by-root')
echo "$out"
grep -q ' 0 0 ' <<<"$out" || fail "a file root made is not root's inside: $out"

out=$(run1 sh -c 'cat /usr/bin/new-file 2>&1 || echo gone')
grep -qx gone <<<"$out" || fail "an unnamed launch's writes outlived it: $out"
expect_eq "$sum_before" "$(sha256sum <"$IMAGE")" "the image file after writes in the container"
expect_no_leftovers "$baseline"
echo PASS
