#!/usr/bin/env bash
# Multi-arch images: an OCI index and a Docker manifest list written by hand over
# per-arch images; the default pick is this machine's architecture, --arch picks
# another, a missing one is an error that lists what exists; an image without an
# index whose config names another architecture is refused the same way.
source "$(dirname "$0")/lib.sh"

host_arch=$(dpkg --print-architecture)
arch_image() {  # ARCH VARIANT FORMAT -> pushes $NS/ARCH-FORMAT:v1, prints "digest size"
  local arch=$1 variant=$2 format=$3 layout
  layout=$(new_layout "$arch-$format")
  ARCH=$arch
  add_layer "$layout" write_marker
  umoci config --image "$layout:v1" --architecture "$arch" >/dev/null
  push "$layout" "$NS/$arch-$format:v1" --format "$format"
  local digest size
  digest=$(manifest_digest_of "$NS/$arch-$format:v1")
  size=$(manifest_of "$NS/$arch-$format:v1" | wc -c)
  echo "$digest $size $arch $variant"
}
write_marker() {
  mkdir -p "$ROOTFS/etc"
  echo "$ARCH" >"$ROOTFS/etc/arch"
}

# make_index TYPE ENTRY-TYPE "digest size arch variant"...
make_index() {
  local type=$1 entry_type=$2
  shift 2
  python3 - "$type" "$entry_type" "$@" <<'PY'
import json, sys
type_, entry_type, *entries = sys.argv[1:]
manifests = []
for e in entries:
    digest, size, arch, variant = (e.split() + [""])[:4]
    platform = {"architecture": arch, "os": "linux"}
    if variant:
        platform["variant"] = variant
    manifests.append({"mediaType": entry_type, "digest": digest, "size": int(size), "platform": platform})
print(json.dumps({"schemaVersion": 2, "mediaType": type_, "manifests": manifests}), end="")
PY
}

arch_of() {  # FILE.sqsh -> content of /etc/arch in it
  local dir
  dir=$(mktemp -d "$WORK/build/arch.XXXXXX")
  rmdir "$dir"
  unsquashfs -q -n -d "$dir" "$1" etc/arch >/dev/null
  cat "$dir/etc/arch"
  rm -rf "$dir"
}

for format in oci v2s2; do
  entries=()
  for a in "$host_arch:" arm64:v8 ppc64le:; do
    entries+=("$(arch_image "${a%:*}" "${a#*:}" "$format")")
  done
  if [ "$format" = oci ]; then
    make_index application/vnd.oci.image.index.v1+json application/vnd.oci.image.manifest.v1+json "${entries[@]}" \
      >"$WORK/build/index-$format.json"
    type=application/vnd.oci.image.index.v1+json
  else
    make_index application/vnd.docker.distribution.manifest.list.v2+json \
      application/vnd.docker.distribution.manifest.v2+json "${entries[@]}" >"$WORK/build/index-$format.json"
    type=application/vnd.docker.distribution.manifest.list.v2+json
  fi
  # Index entries refer to manifests in the same repository.
  for e in "${entries[@]}"; do
    read -r _ _ arch _ <<<"$e"
    # The per-arch manifests and their blobs into the index's repository (the
    # registry checks that an index's entries exist there).
    skopeo copy -q --src-tls-verify=false --dest-tls-verify=false --preserve-digests \
      "docker://$REG/$NS/$arch-$format:v1" "docker://$REG/$NS/multi-$format:$arch" >/dev/null
  done
  push_manifest "$NS/multi-$format" v1 "$WORK/build/index-$format.json" "$type" >/dev/null

  hl_import --insecure "docker://$REG/$NS/multi-$format:v1" -o "default-$format.sqsh" 2>/dev/null ||
    fail "$format: default arch import failed"
  expect_eq "$host_arch" "$(arch_of "$WORK/out/default-$format.sqsh")" "$format: default pick"
  hl_import --insecure --arch arm64 "docker://$REG/$NS/multi-$format:v1" -o "arm64-$format.sqsh" 2>/dev/null ||
    fail "$format: --arch arm64 import failed"
  expect_eq arm64 "$(arch_of "$WORK/out/arm64-$format.sqsh")" "$format: --arch arm64"
  hl_import --insecure --arch linux/ppc64le "docker://$REG/$NS/multi-$format:v1" -o "ppc-$format.sqsh" 2>/dev/null ||
    fail "$format: --arch linux/ppc64le import failed"
  expect_eq ppc64le "$(arch_of "$WORK/out/ppc-$format.sqsh")" "$format: --arch linux/ppc64le"
  expect_error "image $NS/multi-$format:v1 has no linux/s390x image; it has linux/$host_arch, linux/arm64/v8, linux/ppc64le; pick one with --arch" \
    --insecure --arch s390x "docker://$REG/$NS/multi-$format:v1"
done

# No index, and the config says arm64.
layout=$(new_layout armonly)
ARCH=arm64
add_layer "$layout" write_marker
umoci config --image "$layout:v1" --architecture arm64 >/dev/null
push "$layout" "$NS/armonly:v1"
expect_error "image $NS/armonly:v1 has no linux/$host_arch image; it has linux/arm64" \
  --insecure "docker://$REG/$NS/armonly:v1"
hl_import --insecure --arch arm64 "docker://$REG/$NS/armonly:v1" -o armonly.sqsh 2>/dev/null ||
  fail "--arch arm64 of a single-arch image failed"
echo "PASS"
