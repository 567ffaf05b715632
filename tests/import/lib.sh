# shellcheck shell=bash
# Shared by the import tests: the local registries of scripts/testregistry, a work
# dir the unprivileged test user owns (its HOME, so caches and credentials are per
# test), image building with umoci + skopeo, crafted blobs and manifests pushed with
# curl, and tree listings to compare an imported squashfs with `umoci unpack`.
# Everything network talks to 127.0.0.1 only.
set -euo pipefail

BUILD=${HPCLAUNCH_BUILD:?set by ctest}
SOURCE=${HPCLAUNCH_SOURCE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
TEST_USER=${HPCLAUNCH_TEST_USER:-hltest}
REGISTRY_ENV=${HPCL_TESTREGISTRY_DIR:-/var/lib/hpclaunch-testregistry}/env

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

[ "$(id -u)" = 0 ] || fail "import tests need root (umoci unpack with owners, registry storage); run them via scripts/test"
[ -r "$REGISTRY_ENV" ] || fail "the test registry is not up: scripts/testregistry up"
# shellcheck disable=SC1090
source "$REGISTRY_ENV"
REG=$TESTREGISTRY_PLAIN
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH

WORK=$(mktemp -d /tmp/hlimport.XXXXXX)
chmod 755 "$WORK"
mkdir -p "$WORK/bin" "$WORK/home" "$WORK/out" "$WORK/build"
# `hpclaunch import` execs hpclaunch-import from the same directory.
cp "$BUILD/hpclaunch" "$BUILD/hpclaunch-import" "$WORK/bin/"
chown -R "$TEST_USER" "$WORK/bin" "$WORK/home" "$WORK/out"
HPCLAUNCH=$WORK/bin/hpclaunch
CACHE=$WORK/home/.cache/hpclaunch
# Repository names unique to this run: the registry outlives a test.
NS=t$(date +%s%N | tail -c 9)-$$
BACKGROUND_PIDS=()

cleanup_work() {
  local pid
  for pid in "${BACKGROUND_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup_work EXIT

# hpclaunch import as the test user, from $WORK/out, with its own HOME. Output on
# stdout/stderr as usual; set IMPORT_ENV=(K=V ...) for extra environment.
IMPORT_ENV=()
hl_import() {
  (cd "$WORK/out" && runuser -u "$TEST_USER" -- env -i PATH="$PATH" HOME="$WORK/home" "${IMPORT_ENV[@]}" \
    timeout 300 "$HPCLAUNCH" import "$@")
}

as_user() { runuser -u "$TEST_USER" -- "$@"; }

expect_eq() {  # expected actual what
  [ "$1" = "$2" ] || fail "$3: expected '$1', got '$2'"
}

# expect_error "TEXT" ARGS... : the import fails, its last stderr line (and only
# error line) is an `hpclaunch: error:` line containing TEXT, no output file appears.
expect_error() {
  local text=$1 out="$WORK/out/error-case.sqsh" err rc=0
  shift
  rm -f "$out"
  err=$(hl_import "$@" -o "$out" 2>&1 >/dev/null) || rc=$?
  [ "$rc" != 0 ] || fail "import $* succeeded; expected an error with: $text"
  # Progress lines may come first; the error is one line, the last.
  [ "$(grep -c 'error' <<<"$err")" = 1 ] || fail "expected one error line, got: $err"
  err=$(tail -n 1 <<<"$err")
  [[ "$err" == "hpclaunch: error: "* ]] || fail "not an hpclaunch error line: $err"
  [[ "$err" == *"$text"* ]] || fail "error line lacks '$text': $err"
  [ ! -e "$out" ] || fail "an output file appeared after: $err"
  expect_no_temp_files
}

expect_no_temp_files() {
  local left
  left=$(find "$WORK/out" "$CACHE" -name '*.tmp' -o -name '.hpclaunch-import.*' 2>/dev/null | head -5) || true
  [ -z "$left" ] || fail "temporary files left: $left"
}

# --- building and pushing images -------------------------------------------------------

# new_layout NAME -> path of an empty OCI layout with an empty image tagged `v1`
new_layout() {
  local layout=$WORK/build/$1
  umoci init --layout "$layout" >/dev/null
  umoci new --image "$layout:v1" >/dev/null
  echo "$layout"
}

# add_layer LAYOUT FUNCTION: unpack the image, let FUNCTION change ROOTFS, repack
# (umoci writes whiteouts for what FUNCTION deleted).
add_layer() {
  local layout=$1 change=$2 bundle
  bundle=$(mktemp -d "$WORK/build/bundle.XXXXXX")
  rmdir "$bundle"
  umoci unpack --image "$layout:v1" "$bundle" >/dev/null
  ROOTFS=$bundle/rootfs "$change"
  umoci repack --image "$layout:v1" "$bundle" >/dev/null
  rm -rf "$bundle"
}

# add_tar_layer LAYOUT DIR: a layer made verbatim from DIR by GNU tar (for
# whiteout and opaque markers written by hand).
add_tar_layer() {
  local layout=$1 dir=$2 tarfile
  tarfile=$(mktemp "$WORK/build/layer.XXXXXX.tar")
  tar -C "$dir" --numeric-owner -cf "$tarfile" .
  umoci raw add-layer --image "$layout:v1" "$tarfile" >/dev/null
  rm -f "$tarfile"
}

# push LAYOUT NAME:TAG [skopeo options]
push() {
  local layout=$1 name=$2
  shift 2
  skopeo copy -q --dest-tls-verify=false "$@" "oci:$layout:v1" "docker://$REG/$name" >/dev/null
}

# push_blob REPO FILE -> digest (a monolithic upload, as the spec describes)
push_blob() {
  local repo=$1 file=$2 digest location
  digest=sha256:$(sha256sum "$file" | cut -d' ' -f1)
  location=$(curl -sf -X POST -D - -o /dev/null "http://$REG/v2/$repo/blobs/uploads/" |
    tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
  [[ "$location" == http* ]] || location="http://$REG$location"
  curl -sf -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$file" \
    "$location&digest=$digest" -o /dev/null || fail "push_blob $file to $repo"
  echo "$digest"
}

# push_manifest REPO TAG FILE MEDIA-TYPE -> digest
push_manifest() {
  local repo=$1 tag=$2 file=$3 type=$4
  curl -sf -X PUT -H "Content-Type: $type" --data-binary "@$file" "http://$REG/v2/$repo/manifests/$tag" \
    -o /dev/null || fail "push_manifest $repo:$tag"
  echo "sha256:$(sha256sum "$file" | cut -d' ' -f1)"
}

# manifest_of NAME:TAG -> the manifest JSON the registry serves
manifest_of() {
  local name=${1%:*} tag=${1##*:}
  curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' \
    "http://$REG/v2/$name/manifests/$tag"
}

# manifest_digest_of NAME:TAG -> sha256 of the manifest bytes (command substitution
# would drop a trailing newline)
manifest_digest_of() {
  local name=${1%:*} tag=${1##*:}
  echo "sha256:$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' \
    "http://$REG/v2/$name/manifests/$tag" | sha256sum | cut -d' ' -f1)"
}

# blob_file DIGEST -> where the registry keeps the blob's bytes (to corrupt them)
blob_file() {
  local hex=${1#sha256:}
  echo "$TESTREGISTRY_STORAGE/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data"
}

# --- comparing trees ------------------------------------------------------------------

# tree_listing DIR: one line per entry: path, type, mode, owner, link count,
# size, sha256 and mtime of regular files, symlink targets. What hpclaunch adds
# to every image (/.hpclaunch, /etc/environment) is left out.
tree_listing() {
  python3 - "$1" <<'EOF'
import hashlib, os, stat, sys
root = sys.argv[1]
skip = {"./.hpclaunch", "./etc/environment"}
for dirpath, dirnames, filenames in os.walk(root):
    for name in sorted(dirnames + filenames):
        full = os.path.join(dirpath, name)
        rel = "./" + os.path.relpath(full, root)
        if rel in skip or rel.startswith("./.hpclaunch/"):
            continue
        st = os.lstat(full)
        line = [rel, oct(stat.S_IMODE(st.st_mode)), f"{st.st_uid}:{st.st_gid}"]
        if stat.S_ISREG(st.st_mode):
            with open(full, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            line += ["file", f"links={st.st_nlink}", str(st.st_size), digest, f"mtime={int(st.st_mtime)}"]
        elif stat.S_ISLNK(st.st_mode):
            line = [rel, "symlink", "->", os.readlink(full), f"{st.st_uid}:{st.st_gid}"]
        elif stat.S_ISDIR(st.st_mode):
            line += ["dir"]
        else:
            line += ["other", oct(stat.S_IFMT(st.st_mode))]
        print(" ".join(line))
EOF
}

# squashfs_listing FILE.sqsh: the listing of the image's contents (unsquashfs as root
# keeps owners, modes, hard links).
squashfs_listing() {
  local dir
  dir=$(mktemp -d "$WORK/build/unsquash.XXXXXX")
  rmdir "$dir"
  unsquashfs -q -n -d "$dir" "$1" >/dev/null || fail "unsquashfs $1"
  tree_listing "$dir"
  rm -rf "$dir"
}

# umoci_listing LAYOUT: the listing of `umoci unpack` of the image (the reference).
umoci_listing() {
  local bundle
  bundle=$(mktemp -d "$WORK/build/ref.XXXXXX")
  rmdir "$bundle"
  umoci unpack --image "$1:v1" "$bundle" >/dev/null
  tree_listing "$bundle/rootfs"
  rm -rf "$bundle"
}

# expect_same_tree LAYOUT FILE.sqsh
expect_same_tree() {
  local want got
  want=$(umoci_listing "$1")
  got=$(squashfs_listing "$2")
  # hpclaunch writes /etc/environment into every image: its /etc is expected.
  grep -q '^\./etc ' <<<"$want" || got=$(grep -v '^\./etc 0o755 0:0 dir$' <<<"$got")
  if [ "$want" != "$got" ]; then
    diff <(echo "$want") <(echo "$got") >&2 || true
    fail "$2 differs from umoci unpack of $1 (< umoci, > hpclaunch)"
  fi
}

# --- the fault proxy --------------------------------------------------------------------

# start_faultproxy ARGS... -> sets PROXY (127.0.0.1:PORT) and PROXY_LOG
start_faultproxy() {
  local portfile=$WORK/proxy.port.$RANDOM
  PROXY_LOG=$WORK/proxy.$RANDOM.log
  : >"$PROXY_LOG"
  python3 "$SOURCE/tests/import/faultproxy.py" --upstream "$REG" --port-file "$portfile" --log "$PROXY_LOG" "$@" \
    </dev/null >"$WORK/proxy.out" 2>&1 &
  PROXY_PID=$!
  BACKGROUND_PIDS+=("$PROXY_PID")
  for _ in $(seq 50); do
    [ -s "$portfile" ] && break
    sleep 0.1
  done
  [ -s "$portfile" ] || fail "the fault proxy did not start: $(cat "$WORK/proxy.out")"
  PROXY=127.0.0.1:$(cat "$portfile")
}

stop_faultproxy() {
  kill "$PROXY_PID" 2>/dev/null || true
  wait "$PROXY_PID" 2>/dev/null || true
}

seconds_of() {  # command... -> wall seconds on stdout (the command's output is dropped)
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null 2>&1 || fail "command failed: $*"
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", b - a }'
}
