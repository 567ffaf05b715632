#!/usr/bin/env bash
# hpclaunch doctor as the test user: a healthy node passes (table and JSON),
# an image opens and mounts, and each broken node fails the right check with
# its fix and exit 1: a corrupt image, /dev/fuse denied (in a private mount
# namespace), user namespaces limited to 0 (in a user namespace of the test's
# own: the machine's sysctl is never touched), a runtime dir another user
# squatted. Nothing is left behind.
source "$(dirname "$0")/lib.sh"
baseline=$(fuse_connections)

# doctor's output and exit status: "CODE\nOUTPUT".
doctor() {
  local out code
  set +e
  out=$(hl doctor "$@" 2>&1)
  code=$?
  set -e
  printf '%s\n%s' "$code" "$out"
}

expect_row() {  # output title need result detail-pattern
  grep -Eq "^$2 +$3 +$4 +$5" <<<"$1" || fail "no row '$2 $3 $4 $5' in: $1"
}

# The value of a check's field in doctor --json output: json_field JSON ID FIELD.
json_field() {
  python3 -c 'import json,sys; c=[c for c in json.loads(sys.argv[1])["checks"] if c["id"]==sys.argv[2]]; print(c[0][sys.argv[3]] if c else "absent")' "$@"
}

# A healthy node (this machine: scripts/setup made it so).
res=$(doctor)
code=${res%%$'\n'*}; out=${res#*$'\n'}
echo "$out"
expect_eq 0 "$code" "doctor's exit status on a healthy node"
grep -Eq "^CHECK +NEED +RESULT +DETAIL$" <<<"$out" || fail "no table header: $out"
expect_row "$out" "user namespaces" req ok "unshare\(USER\|NS\) with uid $(id -u "$TEST_USER")"
expect_row "$out" "overlayfs \(userxattr\)" req ok "overlayfs with userxattr"
expect_row "$out" "/dev/fuse" req ok ""
expect_row "$out" "FUSE in a user namespace" req ok ""
expect_row "$out" "runtime dir" req ok "$RUNTIME_DIR"
expect_row "$out" "hpclaunch-node" req ok "\`$WORK/bin/hpclaunch-node\` \(its libraries load\)"
expect_row "$out" "launcher" req ok "Open MPI's mpirun 4\."
expect_row "$out" "PMIx" info ok "OpenPMIx 4\."
grep -q "^launches can work on this node" <<<"$out" || fail "no verdict: $out"

# --json: one object with every check, the same verdict.
json=$(hl doctor --json)
expect_eq True "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["launches_can_work"])' "$json")" "launches_can_work"
expect_eq ok "$(json_field "$json" fuse-userns result)" "fuse-userns in --json"
expect_eq True "$(json_field "$json" userns required)" "userns is required"
expect_eq False "$(json_field "$json" slurm required)" "slurm is informational"
expect_eq "$(grep -c . <<<"$(sed -n '/^CHECK/,/^launches/p' <<<"$out" | grep -Ev '^(CHECK|launches| +fix:)')")" \
  "$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["checks"]))' "$json")" "checks in the table and in --json"

# --image: it opens and its container is built once, then torn down.
res=$(doctor --image solver.sqsh)
code=${res%%$'\n'*}; out=${res#*$'\n'}
expect_eq 0 "$code" "doctor --image on a good image"
expect_row "$out" image req ok "\`$IMAGE\`: squashfs 4\.0, "
expect_row "$out" "image mounts" req ok "\`$IMAGE\` mounted and the container built \([0-9]+ mounts\); its PATH=/"
expect_no_leftovers "$baseline"

echo "not a squashfs image" >"$WORK/text.sqsh"
[ "$(id -u)" = 0 ] && chown "$TEST_USER" "$WORK/text.sqsh"
res=$(doctor --image text.sqsh)
code=${res%%$'\n'*}; out=${res#*$'\n'}
echo "$out" | tail -n 4
expect_eq 1 "$code" "doctor --image on a text file"
expect_row "$out" image req FAIL "image \`$WORK/text.sqsh\` is not a squashfs image"
expect_row "$out" "image mounts" req skip "needs an image that opens"
grep -q "^launches cannot work on this node: 1 required check failed (image)$" <<<"$out" || fail "verdict: $out"

# User namespaces limited to 0, by the sysctl of a user namespace of our own:
# the limit holds for what doctor creates inside it, nowhere else.
before=$(cat /proc/sys/user/max_user_namespaces)
private_rt="$WORK/rt-limited"
set +e
json=$(as_user env HPCLAUNCH_RUNTIME_DIR="$private_rt" unshare --user --map-root-user \
  sh -c 'echo 0 >/proc/sys/user/max_user_namespaces && exec "$0" doctor --json' "$HPCLAUNCH")
code=$?
set -e
expect_eq 1 "$code" "doctor's exit status with user namespaces limited to 0"
expect_eq fail "$(json_field "$json" sysctl.user.max_user_namespaces result)" "max_user_namespaces check"
expect_eq "0: no user namespace may be created" "$(json_field "$json" sysctl.user.max_user_namespaces detail)" \
  "max_user_namespaces detail"
expect_eq fail "$(json_field "$json" userns result)" "userns check"
expect_eq "unshare(user, mount namespace): No space left on device" "$(json_field "$json" userns detail)" "userns detail"
expect_eq "as root: sysctl -w user.max_user_namespaces=15000" "$(json_field "$json" userns fix)" "userns fix"
expect_eq skip "$(json_field "$json" overlayfs result)" "overlayfs without user namespaces"
expect_eq "$before" "$(cat /proc/sys/user/max_user_namespaces)" "the machine's user.max_user_namespaces"

# A runtime dir another user created first.
squat_tmp=$(fresh_tmp squat)
as_other mkdir -m 0777 "$squat_tmp/hpclaunch-$(id -u "$TEST_USER")"
set +e
out=$(as_user env TMPDIR="$squat_tmp" "$HPCLAUNCH" doctor 2>&1)
code=$?
set -e
expect_eq 1 "$code" "doctor's exit status with a squatted runtime dir"
expect_row "$out" "runtime dir" req FAIL \
  "private directory \`$squat_tmp/hpclaunch-$(id -u "$TEST_USER")\` belongs to uid $(id -u "$OTHER_USER") \($OTHER_USER\), not to you"
grep -Eq "^ +fix: another user created it first: .*HPCLAUNCH_RUNTIME_DIR" <<<"$out" || fail "no fix for the runtime dir: $out"
# A launch in the same place says which check explains it.
set +e
err=$(as_user env TMPDIR="$squat_tmp" "$HPCLAUNCH" -n 1 --image "$IMAGE" true 2>&1)
set -e
grep -q "belongs to uid .*; run \`hpclaunch doctor\`$" <<<"$err" || fail "launch error without the doctor hint: $err"

if [ "$(id -u)" = 0 ]; then
  # /dev/fuse unusable only in a private mount namespace (a root-only file
  # bound over it): other tests running now need the real one.
  : >"$WORK/fuse-denied"
  chmod 600 "$WORK/fuse-denied"
  saved=("${RUN_AS[@]}")
  RUN_AS=(unshare --mount --propagation private
    bash -c 'mount --bind "$1" /dev/fuse && shift && exec runuser -u "$0" -- "$@"' "$TEST_USER" "$WORK/fuse-denied")
  res=$(doctor)
  RUN_AS=("${saved[@]}")
  code=${res%%$'\n'*}; out=${res#*$'\n'}
  echo "$out" | grep -A1 -E "fuse|FUSE|launches"
  expect_eq 1 "$code" "doctor's exit status with /dev/fuse denied"
  expect_row "$out" "/dev/fuse" req FAIL "cannot open \`/dev/fuse\`: Permission denied$"
  grep -Eq "^ +fix: as root: chmod 666 /dev/fuse" <<<"$out" || fail "no fix for /dev/fuse: $out"
  expect_row "$out" "FUSE in a user namespace" req skip "needs /dev/fuse"
  expect_row "$out" "user namespaces" req ok ""
  grep -q "^launches cannot work on this node: 1 required check failed (/dev/fuse)$" <<<"$out" || fail "verdict: $out"
else
  echo "SKIP /dev/fuse permission case (needs root to bind over /dev/fuse)"
fi

expect_no_leftovers "$baseline"
echo PASS
