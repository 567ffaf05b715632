#!/usr/bin/env bash
# Layer and manifest formats real registries serve: zstd layers (skopeo
# --dest-compress-format zstd), Docker v2 schema 2 manifests, an uncompressed tar
# layer, and a layer written by `umoci insert`, which ends right after the last
# file's data with no tar end-of-archive blocks (Go tools accept it; GNU tar does
# not). Each import equals `umoci unpack` of the same image.
source "$(dirname "$0")/lib.sh"

fill() {  # fresh random content, so that skopeo cannot reuse a blob and must recompress
  mkdir -p "$ROOTFS/opt/app/lib" "$ROOTFS/etc"
  head -c 200000 /dev/urandom >"$ROOTFS/opt/app/lib/libx.so.1"
  ln -s libx.so.1 "$ROOTFS/opt/app/lib/libx.so"
  seq 1 20000 >"$ROOTFS/opt/app/numbers"
  echo "$RANDOM" >"$ROOTFS/etc/stamp"
}
more() {
  rm -f "$ROOTFS/opt/app/numbers"
  head -c 100000 /dev/urandom >"$ROOTFS/opt/app/data"
  chmod 640 "$ROOTFS/opt/app/data"
}

layer_types() {  # NAME:TAG -> the layers' media types, one per line
  manifest_of "$1" | python3 -c 'import json,sys; [print(l["mediaType"]) for l in json.load(sys.stdin)["layers"]]'
}

# zstd layers
layout=$(new_layout zstd)
add_layer "$layout" fill
add_layer "$layout" more
push "$layout" "$NS/zstd:v1" --dest-compress-format zstd
[ "$(layer_types "$NS/zstd:v1" | sort -u)" = "application/vnd.oci.image.layer.v1.tar+zstd" ] ||
  fail "skopeo did not push zstd layers: $(layer_types "$NS/zstd:v1")"
hl_import --insecure "docker://$REG/$NS/zstd:v1" -o zstd.sqsh 2>/dev/null || fail "zstd import failed"
expect_same_tree "$layout" "$WORK/out/zstd.sqsh"

# Docker v2 schema 2 manifest and layer types
layout=$(new_layout docker)
add_layer "$layout" fill
add_layer "$layout" more
push "$layout" "$NS/docker:v1" --format v2s2
grep -q '"application/vnd.docker.distribution.manifest.v2+json"' <<<"$(manifest_of "$NS/docker:v1")" ||
  fail "not a Docker v2s2 manifest"
hl_import --insecure "docker://$REG/$NS/docker:v1" -o docker.sqsh 2>/dev/null || fail "v2s2 import failed"
expect_same_tree "$layout" "$WORK/out/docker.sqsh"

# An uncompressed layer: the gzip layers of the v2s2 image, gunzipped and pushed
# again under an OCI manifest with the plain tar media type.
crafted=$WORK/build/crafted
mkdir -p "$crafted"
manifest_of "$NS/docker:v1" >"$crafted/docker.json"
python3 - "$crafted" "$REG" "$NS/docker" <<'PY'
import json, subprocess, sys
crafted, reg, repo = sys.argv[1:]
m = json.load(open(crafted + "/docker.json"))
for i, layer in enumerate(m["layers"]):
    blob = subprocess.run(["curl", "-sf", f"http://{reg}/v2/{repo}/blobs/{layer['digest']}"],
                          capture_output=True, check=True).stdout
    tar = subprocess.run(["gzip", "-dc"], input=blob, capture_output=True, check=True).stdout
    open(f"{crafted}/layer{i}.tar", "wb").write(tar)
PY
cfg_digest=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["config"]["digest"])' "$crafted/docker.json")
curl -sf "http://$REG/v2/$NS/docker/blobs/$cfg_digest" -o "$crafted/config.json"
config=$(push_blob "$NS/plain" "$crafted/config.json")
layers=()
for t in "$crafted"/layer*.tar; do layers+=("$(push_blob "$NS/plain" "$t"):$(stat -c %s "$t")"); done
python3 - "$config" "$(stat -c %s "$crafted/config.json")" "${layers[@]}" >"$crafted/plain.json" <<'PY'
import json, sys
config, size, *layers = sys.argv[1:]
print(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": int(size)},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": l.rsplit(":", 1)[0],
                "size": int(l.rsplit(":", 1)[1])} for l in layers]}))
PY
push_manifest "$NS/plain" v1 "$crafted/plain.json" application/vnd.oci.image.manifest.v1+json >/dev/null
hl_import --insecure "docker://$REG/$NS/plain:v1" -o plain.sqsh 2>/dev/null || fail "uncompressed layer import failed"
expect_same_tree "$layout" "$WORK/out/plain.sqsh"

# umoci insert: a layer without tar end blocks.
layout=$(new_layout insert)
add_layer "$layout" fill
echo "inserted" >"$WORK/build/inserted.txt"
umoci insert --image "$layout:v1" "$WORK/build/inserted.txt" /opt/inserted.txt >/dev/null
push "$layout" "$NS/insert:v1"
last=$(manifest_of "$NS/insert:v1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][-1]["digest"])')
# The premise: GNU tar rejects this layer.
curl -sf "http://$REG/v2/$NS/insert/blobs/$last" | gzip -dc | tar -t >/dev/null 2>&1 &&
  fail "umoci insert wrote end blocks; this test no longer covers layers without them"
hl_import --insecure "docker://$REG/$NS/insert:v1" -o insert.sqsh 2>/dev/null || fail "umoci insert layer import failed"
expect_same_tree "$layout" "$WORK/out/insert.sqsh"
grep -q '^./opt/inserted.txt ' <<<"$(squashfs_listing "$WORK/out/insert.sqsh")" || fail "inserted file missing"
echo "PASS"
