#!/usr/bin/env bash
# A registry that trickles (issue 9, point 7): one byte every 3 s, on every request,
# never quite silent. Under 1 KiB/s for --timeout seconds is a stall; the stalled
# request is retried once, and the second stall ends the import with one error line
# naming the registry and the blob, well within a small multiple of --timeout —
# first for the config (a small in-memory request), then, with the config already
# in the cache, for the layers (the parallel blob fetcher). What stays behind is
# what the resume policy keeps: each layer's <hex>.partial with the bytes that
# arrived; no temp file, no image.
source "$(dirname "$0")/lib.sh"

fill() {
  mkdir -p "$ROOTFS/data"
  head -c 20000 /dev/urandom >"$ROOTFS/data/layer-$LAYER_NO"
}
layout=$(new_layout trickle)
for LAYER_NO in 1 2; do add_layer "$layout" fill; done
push "$layout" "$NS/trickle:v1"
read -r CONFIG LAYERS < <(manifest_of "$NS/trickle:v1" |
  python3 -c 'import json,sys; m=json.load(sys.stdin); print(m["config"]["digest"], " ".join(l["digest"] for l in m["layers"]))')

TIMEOUT=5
# trickled_import WHAT: the import through the trickling proxy fails within the
# bound, with exactly one error line, naming the registry and WHAT.
trickled_import() {
  local what=$1 out=$WORK/out/trickle.sqsh err rc=0 start seconds
  start=$(date +%s.%N)
  err=$(hl_import --insecure --timeout "$TIMEOUT" "docker://$PROXY/$NS/trickle:v1" -o "$out" 2>&1 >/dev/null) || rc=$?
  seconds=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  [ "$rc" != 0 ] || fail "the import of a trickling registry succeeded"
  awk -v t="$seconds" -v m="$TIMEOUT" 'BEGIN { exit !(t >= m && t < 20) }' ||
    fail "a trickled import took $seconds s with --timeout $TIMEOUT (expected at least $TIMEOUT s, under 20 s): $err"
  [ "$(grep -c '^hpclaunch: error:' <<<"$err")" = 1 ] || fail "expected one hpclaunch: error line, got: $err"
  [ "$(grep -c 'error' <<<"$err")" = 1 ] || fail "expected one error line, got: $err"
  err=$(tail -n 1 <<<"$err")
  [[ "$err" == "hpclaunch: error: registry $PROXY: $what"*", under 1 KiB/s for $TIMEOUT s (stalled transfer); check the network or raise --timeout" ]] ||
    fail "unexpected error line: $err"
  [ ! -e "$out" ] || fail "an output file appeared after: $err"
  expect_no_temp_files
  echo "trickled import ($what): $seconds s: $err"
}

start_faultproxy --trickle-blobs 3

# The config comes first, in memory: no cache entry may remain for it.
rm -rf "$CACHE"
trickled_import "the config ($(cut -c1-19 <<<"$CONFIG")) of image $NS/trickle:v1 arrived at "
left=$(find "$CACHE" -type f 2>/dev/null) || true
[ -z "$left" ] || fail "files left in the cache after a trickled config: $left"

# The config already cached (as an earlier import leaves it): now the layers trickle.
rm -rf "$CACHE"
mkdir -p "$CACHE/blobs/sha256"
curl -sf "http://$REG/v2/$NS/trickle/blobs/$CONFIG" -o "$CACHE/blobs/sha256/${CONFIG#sha256:}"
chown -R "$TEST_USER" "$WORK/home/.cache"
trickled_import "layer "
# Left: the config we put there, and a partial file of each layer holding the few
# bytes that arrived (kept to resume, like every interrupted download).
expected="${CONFIG#sha256:}"
for layer in $LAYERS; do expected+=$'\n'"${layer#sha256:}.partial"; done
got=$(cd "$CACHE" && find . -type f -printf '%P\n' | sed 's#^blobs/sha256/##' | sort)
expect_eq "$(sort <<<"$expected")" "$got" "cache contents after trickled layers"
for layer in $LAYERS; do
  size=$(stat -c %s "$CACHE/blobs/sha256/${layer#sha256:}.partial")
  [ "$size" -lt 100 ] || fail "the partial of $layer holds $size bytes: more than trickled"
done
stop_faultproxy
echo "PASS"
