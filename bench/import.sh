#!/usr/bin/env bash
# docker:// import time: hpclaunch (cold; layers cached; digest already imported) vs
# `skopeo copy` + `umoci unpack` + `mksquashfs -comp zstd -Xcompression-level 3` (the
# compressor and level hpclaunch uses by default), in the same run, page cache dropped
# before every cold run of every tool (DESIGN.md §6).
# The image: 5 gzip layers, ~70 MB compressed, ~300 MB and ~22k files unpacked, one
# whiteout; made once (deterministic content) and pushed to the local test registry.
# Usage (root): bench/import.sh [RUNS]   (default 3). Prints a table of medians and
# writes every run to bench/results/<date>/import.csv.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
[ "$(id -u)" = 0 ] || { echo "bench/import.sh: run as root (drop_caches, umoci unpack)" >&2; exit 1; }
BUILD=${HPCLAUNCH_BUILD:-$PWD/build}
HPCLAUNCH=$BUILD/hpclaunch
[ -x "$HPCLAUNCH" ] && [ -x "$BUILD/hpclaunch-import" ] || { echo "bench/import.sh: build first (scripts/setup)" >&2; exit 1; }
OUT=bench/results/$(date +%Y-%m-%d)
mkdir -p "$OUT"
CSV=$OUT/import.csv
WORK=/var/tmp/hpclaunch-bench-import
IMAGE_DIR=$WORK/image            # the generated OCI layout, kept between runs
REF=127.0.0.1:5000/bench/import:v1

started_registry=0
cleanup() {
  rm -rf "$WORK/run"
  if [ "$started_registry" = 1 ]; then scripts/testregistry down || true; fi
}
trap cleanup EXIT
if ! scripts/testregistry status >/dev/null 2>&1; then
  scripts/testregistry up >/dev/null
  started_registry=1
fi

# One layer's files: deterministic, about 4:1 compressible overall like a real
# rootfs (text-like files with recurring lines, 5% incompressible binaries).
generate_layer() {  # DIR LAYER-NO FILES MEGABYTES
  python3 - "$@" <<'EOF'
import os, random, sys
root, layer, files, megabytes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(layer)
words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz_") for _ in range(rng.randint(2, 10))) for _ in range(1000)]
common = [" ".join(rng.choices(words, k=rng.randint(4, 14))) + "\n" for _ in range(300)]
average = megabytes * 1000000 // files
for i in range(files):
    d = os.path.join(root, f"layer{layer}", f"pkg{i // 400:03d}", f"sub{(i // 40) % 10}")
    os.makedirs(d, exist_ok=True)
    size = max(64, int(rng.expovariate(1 / average)))
    if rng.random() < 0.05:
        data = rng.randbytes(size)
        name = f"lib{i}.so"
    else:
        text = []
        n = 0
        while n < size:
            if rng.random() < 0.75:
                line = rng.choice(common)
            else:
                line = " ".join(rng.choices(words, k=rng.randint(4, 14))) + "\n"
            text.append(line)
            n += len(line)
        data = "".join(text).encode()[:size]
        name = f"file{i}.py"
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
EOF
}

make_image() {
  local layers=$WORK/layers
  rm -rf "$IMAGE_DIR" "$layers"
  mkdir -p "$layers"
  umoci init --layout "$IMAGE_DIR" >/dev/null
  umoci new --image "$IMAGE_DIR:v1" >/dev/null
  local spec=("1 8400 110" "2 6000 80" "3 4000 50" "4 3000 40" "5 1000 20") s no files mb
  for s in "${spec[@]}"; do
    read -r no files mb <<<"$s"
    mkdir -p "$layers/$no"
    generate_layer "$layers/$no" "$no" "$files" "$mb"
    # Layer 4 deletes one package of layer 1: a whiteout.
    if [ "$no" = 4 ]; then mkdir -p "$layers/$no/layer1" && : >"$layers/$no/layer1/.wh.pkg000"; fi
    tar -C "$layers/$no" --numeric-owner --owner=0 --group=0 -cf "$layers/$no.tar" .
    umoci raw add-layer --image "$IMAGE_DIR:v1" "$layers/$no.tar" >/dev/null
    rm -rf "${layers:?}/$no" "$layers/$no.tar"
  done
  rmdir "$layers"
}

if [ ! -f "$IMAGE_DIR/index.json" ] || [ "$(cat "$WORK/generator.sum" 2>/dev/null)" != "$(sha256sum "$0" | cut -c1-16)" ]; then
  echo "generating the benchmark image (once) ..."
  make_image
  sha256sum "$0" | cut -c1-16 >"$WORK/generator.sum"
fi
skopeo copy -q --dest-tls-verify=false "oci:$IMAGE_DIR:v1" "docker://$REF" >/dev/null
compressed=$(du -sb "$IMAGE_DIR/blobs" | cut -f1)

drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }
seconds() {  # command... -> wall seconds
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null 2>"$WORK/run/last.err" || { cat "$WORK/run/last.err" >&2; echo "failed: $*" >&2; exit 1; }
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", b - a }'
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

baseline() {
  skopeo copy -q --src-tls-verify=false "docker://$REF" "oci:$WORK/run/oci:v1" &&
    umoci unpack --image "$WORK/run/oci:v1" "$WORK/run/bundle" &&
    mksquashfs "$WORK/run/bundle/rootfs" "$WORK/run/baseline.sqsh" -comp zstd -Xcompression-level 3 -noappend -quiet
}
hl() { "$HPCLAUNCH" import --insecure --cache-dir "$WORK/run/cache" "docker://$REF" -o "$WORK/run/$1" --force; }

echo "case,run,seconds,output_bytes" >"$CSV"
for run in $(seq 1 "$RUNS"); do
  rm -rf "$WORK/run"
  mkdir -p "$WORK/run"
  drop_caches
  echo "baseline,$run,$(seconds baseline),$(stat -c %s "$WORK/run/baseline.sqsh")" >>"$CSV"
  unpacked_mb=$(du -sb "$WORK/run/bundle/rootfs" | awk '{ printf "%.0f", $1 / 1e6 }')
  unpacked_files=$(find "$WORK/run/bundle/rootfs" -type f | wc -l)
  rm -rf "$WORK/run/oci" "$WORK/run/bundle"
  drop_caches
  echo "cold,$run,$(seconds hl cold.sqsh),$(stat -c %s "$WORK/run/cold.sqsh")" >>"$CSV"
  rm -rf "$WORK/run/cache/images"
  drop_caches
  echo "layers_cached,$run,$(seconds hl layers.sqsh),$(stat -c %s "$WORK/run/layers.sqsh")" >>"$CSV"
  drop_caches
  echo "digest_cached,$run,$(seconds hl digest.sqsh),$(stat -c %s "$WORK/run/digest.sqsh")" >>"$CSV"
done

b=$(grep '^baseline,' "$CSV" | cut -d, -f3 | median)
printf "image %s: 5 gzip layers, %.1f MB compressed, %s MB and %s files unpacked\n" "$REF" \
  "$(awk -v c="$compressed" 'BEGIN { print c / 1e6 }')" "$unpacked_mb" "$unpacked_files"
printf "%-15s %9s %9s %12s\n" case seconds speedup output_MB
for case in baseline cold layers_cached digest_cached; do
  s=$(grep "^$case," "$CSV" | cut -d, -f3 | median)
  size=$(grep "^$case," "$CSV" | cut -d, -f4 | median)
  printf "%-15s %9.3f %8.1fx %12.1f\n" "$case" "$s" "$(awk -v b="$b" -v s="$s" 'BEGIN { print b / s }')" \
    "$(awk -v z="$size" 'BEGIN { print z / 1e6 }')"
done
echo "(medians of $RUNS runs; speedup = baseline seconds / case seconds; targets: cold >= 3x, layers_cached >= 5x, digest_cached <= 1 s)"
echo "CSV: $CSV"
