#!/usr/bin/env bash
# Every bad input is one clear error line and leaves no image (and nothing half-
# written in the output dir or the cache): bad reference syntax, unknown image or
# tag (404), a corrupted layer (digest mismatch), a truncated layer, a corrupted
# config and manifest, an unknown layer media type, a missing blob, plain HTTP
# without --insecure. Bad content is crafted in the registry's own storage.
source "$(dirname "$0")/lib.sh"

fill() {
  mkdir -p "$ROOTFS/etc" "$ROOTFS/data"
  echo "errors test" >"$ROOTFS/etc/hello"
  head -c 400000 /dev/urandom >"$ROOTFS/data/random"  # unique: no other test shares the blob
}
# image NAME -> pushes a fresh one-layer image; sets LAYER, LAYER_SIZE, CONFIG, MDIGEST
image() {
  local layout
  layout=$(new_layout "$1")
  add_layer "$layout" fill
  push "$layout" "$NS/$1:v1"
  read -r CONFIG LAYER LAYER_SIZE < <(manifest_of "$NS/$1:v1" |
    python3 -c 'import json,sys; m=json.load(sys.stdin); print(m["config"]["digest"], m["layers"][0]["digest"], m["layers"][0]["size"])')
  MDIGEST=$(manifest_digest_of "$NS/$1:v1")
}
short() { echo "${1:0:19}"; }
expect_not_cached() {  # DIGEST: neither a verified nor a partial copy
  local hex=${1#sha256:}
  [ ! -e "$CACHE/blobs/sha256/$hex" ] || fail "a bad blob got into the cache: $1"
  [ ! -e "$CACHE/blobs/sha256/$hex.partial" ] || fail "a bad partial blob was kept: $1"
}

# Bad reference syntax (no network), and usage errors.
expect_error "bad image reference \`docker://$REG/Bad/Name:v1\`: image name \`Bad/Name\` is not valid" \
  --insecure "docker://$REG/Bad/Name:v1"
expect_error "bad image reference \`oci:/x\`: only docker:// references can be imported; use docker://[USER@][REGISTRY#]IMAGE" \
  oci:/x
expect_error "bad image reference \`docker://a/b@sha256:123\`: \`sha256:123\` is not a sha256 digest" "docker://a/b@sha256:123"
rc=0
hl_import --bogus docker://x 2>/dev/null || rc=$?
expect_eq 2 "$rc" "exit code of a usage error"

# 404: unknown repository or tag.
expect_error "image $NS/nothere:v1 not found on 127.0.0.1:5000 (404 MANIFEST_UNKNOWN: manifest unknown); check the image name and tag" \
  --insecure "docker://$REG/$NS/nothere:v1"

# Digest mismatch: same size, different bytes.
image mismatch
printf 'XXXXXXXX' | dd of="$(blob_file "$LAYER")" bs=1 seek=100 conv=notrunc status=none
expect_error "digest mismatch for layer 1 ($(short "$LAYER")) of image $NS/mismatch:v1: expected $LAYER, got sha256:" \
  --insecure "docker://$REG/$NS/mismatch:v1"
expect_not_cached "$LAYER"
[ ! -e "$CACHE/images/$MDIGEST.sqsh" ] || fail "an image was cached after a digest mismatch"

# Truncated: the registry holds only half of the layer.
image truncated
truncate -s $((LAYER_SIZE / 2)) "$(blob_file "$LAYER")"
expect_error "layer 1 ($(short "$LAYER")) of image $NS/truncated:v1 is truncated: the registry sent $((LAYER_SIZE / 2)) of $LAYER_SIZE bytes" \
  --insecure "docker://$REG/$NS/truncated:v1"
[ ! -e "$CACHE/blobs/sha256/${LAYER#sha256:}" ] || fail "a truncated blob got into the cache"

# The config blob and the manifest are verified too.
image badconfig
sed -i 's/"architecture"/"architecturX"/' "$(blob_file "$CONFIG")"
expect_error "digest mismatch for the config ($(short "$CONFIG")) of image $NS/badconfig:v1: expected $CONFIG" \
  --insecure "docker://$REG/$NS/badconfig:v1"
expect_not_cached "$CONFIG"
image badmanifest
sed -i 's/"schemaVersion":2/"schemaVersion": 2/' "$(blob_file "$MDIGEST")"
expect_error "digest mismatch for the manifest of image $NS/badmanifest:v1: expected $MDIGEST, got sha256:" \
  --insecure "docker://$REG/$NS/badmanifest:v1"
expect_error "digest mismatch for the manifest of image $NS/badmanifest@$MDIGEST: expected $MDIGEST" \
  --insecure "docker://$REG/$NS/badmanifest@$MDIGEST"

# An unknown layer media type.
image unknowntype
manifest_of "$NS/unknowntype:v1" | sed 's/application\/vnd.oci.image.layer.v1.tar+gzip/application\/vnd.example.layer.v1+foo/' \
  >"$WORK/build/unknown.json"
push_manifest "$NS/unknowntype" v2 "$WORK/build/unknown.json" application/vnd.oci.image.manifest.v1+json >/dev/null
expect_error "layer 1 ($(short "$LAYER")) of image $NS/unknowntype:v2 has unknown media type \`application/vnd.example.layer.v1+foo\`; hpclaunch imports OCI and Docker tar, tar+gzip and tar+zstd layers" \
  --insecure "docker://$REG/$NS/unknowntype:v2"

# A blob the registry lost.
image lostblob
rm -rf "$(dirname "$(blob_file "$LAYER")")"
expect_error "layer 1 ($(short "$LAYER")) of image $NS/lostblob:v1 not found on 127.0.0.1:5000 (404 BLOB_UNKNOWN: blob unknown to registry)" \
  --insecure "docker://$REG/$NS/lostblob:v1"

# Plain HTTP only with --insecure.
expect_error "(if the registry speaks plain HTTP, e.g. a local test registry, add --insecure)" \
  "docker://$REG/$NS/mismatch:v1"
[ -z "$(ls -A "$WORK/out")" ] || fail "files left in the output dir: $(ls -A "$WORK/out")"
echo "PASS"
