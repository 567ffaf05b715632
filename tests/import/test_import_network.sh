#!/usr/bin/env bash
# Transfers that go wrong, through a fault proxy in front of the registry: 503s are
# retried with backoff (bounded), a dropped connection or a stalled one resumes
# with a Range request, a server that ignores Range restarts the blob, redirects
# are followed, a partial file left by an interrupted import is resumed (or
# restarted when it is bad), layers download in parallel, and two imports at once
# share the cache.
source "$(dirname "$0")/lib.sh"

fill() {
  local i
  mkdir -p "$ROOTFS/data"
  head -c 300000 /dev/urandom >"$ROOTFS/data/layer-$LAYER_NO"
  for i in $(seq 20); do echo "$LAYER_NO $i" >"$ROOTFS/data/small-$LAYER_NO-$i"; done
}
layout=$(new_layout network)
for LAYER_NO in 1 2 3 4; do add_layer "$layout" fill; done
push "$layout" "$NS/net:v1"
LAYERS=$(manifest_of "$NS/net:v1" |
  python3 -c 'import json,sys; print(" ".join(l["digest"] for l in json.load(sys.stdin)["layers"]))')
read -r FIRST _ <<<"$LAYERS"

# import_via_proxy NAME [hpclaunch options]: a cold import through $PROXY
import_via_proxy() {
  local name=$1
  shift
  rm -rf "$CACHE"
  hl_import --insecure "$@" "docker://$PROXY/$NS/net:v1" -o "$name.sqsh" 2>"$WORK/$name.err" ||
    fail "$name: import failed: $(cat "$WORK/$name.err")"
  expect_same_tree "$layout" "$WORK/out/$name.sqsh"
  expect_no_temp_files
}
log_count() {  # PYTHON-CONDITION on entry e -> how many proxy log entries match
  python3 -c '
import json, sys
entries = [json.loads(l) for l in open(sys.argv[1])]
print(sum(1 for e in entries if eval(sys.argv[2])))' "$PROXY_LOG" "$1"
}

start_faultproxy --fail-blobs 2
import_via_proxy retried
[ "$(log_count 'e.get("status") == 503')" = 10 ] || fail "expected 2 × 503 for 4 layers + config: $(cat "$PROXY_LOG")"
grep -q "retrying" "$WORK/retried.err" || fail "no retry shown: $(cat "$WORK/retried.err")"
stop_faultproxy

start_faultproxy --cut-blobs 1000
import_via_proxy resumed
[ "$(log_count 'e.get("range") == "bytes=1000-" and e["status"] == 206')" -ge 4 ] ||
  fail "dropped transfers were not resumed with Range: $(cat "$PROXY_LOG")"
stop_faultproxy

start_faultproxy --cut-blobs 1000 --ignore-range
import_via_proxy restarted
stop_faultproxy

start_faultproxy --redirect-blobs
import_via_proxy redirected
[ "$(log_count 'e.get("status") == 307')" = 5 ] || fail "blobs were not redirected: $(cat "$PROXY_LOG")"
stop_faultproxy

# A stalled transfer: no byte for 1 s (--timeout 1) means retry; the proxy stalls 20 s.
start_faultproxy --stall-blobs 20
t=$(seconds_of import_via_proxy stalled --timeout 1)
awk -v t="$t" 'BEGIN { exit !(t < 10) }' || fail "stalled transfers were not retried quickly: $t s"
[ "$(log_count 'e.get("range") is not None and e["status"] == 206')" -ge 4 ] ||
  fail "stalled transfers were not resumed: $(cat "$PROXY_LOG")"
stop_faultproxy

# Bounded retries: a registry that always answers 503.
start_faultproxy --fail-blobs 1000
rm -rf "$CACHE"
start=$(date +%s)
expect_error "answered 503 for " --insecure "docker://$PROXY/$NS/net:v1"
[ $(($(date +%s) - start)) -lt 20 ] || fail "retries were not bounded"
stop_faultproxy

# A partial file left by an interrupted import is resumed; a bad one is restarted.
start_faultproxy
rm -rf "$CACHE"
mkdir -p "$CACHE/blobs/sha256"
hex=${FIRST#sha256:}
curl -sf "http://$REG/v2/$NS/net/blobs/$FIRST" -o "$WORK/build/first.blob"
head -c 5000 "$WORK/build/first.blob" >"$CACHE/blobs/sha256/$hex.partial"
chown -R "$TEST_USER" "$WORK/home/.cache"
hl_import --insecure "docker://$PROXY/$NS/net:v1" -o partial.sqsh 2>/dev/null || fail "resume from a partial failed"
[ "$(log_count "e['path'].endswith('$FIRST') and e.get('range') == 'bytes=5000-'")" = 1 ] ||
  fail "the partial download was not resumed: $(cat "$PROXY_LOG")"
[ ! -e "$CACHE/blobs/sha256/$hex.partial" ] || fail "the partial file stayed"
rm -rf "$CACHE"
mkdir -p "$CACHE/blobs/sha256"
head -c 5000 /dev/urandom >"$CACHE/blobs/sha256/$hex.partial"
chown -R "$TEST_USER" "$WORK/home/.cache"
: >"$PROXY_LOG"
hl_import --insecure "docker://$PROXY/$NS/net:v1" -o badpartial.sqsh 2>/dev/null || fail "a bad partial was not restarted"
expect_same_tree "$layout" "$WORK/out/badpartial.sqsh"
[ "$(log_count "e['path'].endswith('$FIRST') and e.get('range') is None")" = 1 ] ||
  fail "the bad partial was not restarted from zero: $(cat "$PROXY_LOG")"
stop_faultproxy

# Parallel downloads: with a slow registry several layers are in flight at once.
start_faultproxy --delay-blobs 0.5
import_via_proxy parallel --parallel 4
[ "$(log_count 'e.get("inflight", 0) >= 3')" -ge 1 ] || fail "layers were not fetched in parallel: $(cat "$PROXY_LOG")"
: >"$PROXY_LOG"
import_via_proxy serial --parallel 1
[ "$(log_count 'e.get("inflight", 0) >= 2')" = 0 ] || fail "--parallel 1 was not serial"
# Two imports of the same image at once share the cache: one holds each partial
# file, the other fetches its own copy; both finish, nothing is left over.
: >"$PROXY_LOG"
rm -rf "$CACHE"
twin_errors() { echo "first import's stderr:"; cat "$WORK/twin1.err"; echo "second import's stderr:"; cat "$WORK/twin2.err"; }
hl_import --insecure "docker://$PROXY/$NS/net:v1" -o twin1.sqsh 2>"$WORK/twin1.err" &
twin=$!
twin2=0
hl_import --insecure "docker://$PROXY/$NS/net:v1" -o twin2.sqsh 2>"$WORK/twin2.err" || twin2=$?
twin1=0
wait "$twin" || twin1=$?
[ "$twin1" = 0 ] || fail "the first of two concurrent imports failed (exit $twin1): $(twin_errors)"
[ "$twin2" = 0 ] || fail "the second of two concurrent imports failed (exit $twin2): $(twin_errors)"
expect_same_tree "$layout" "$WORK/out/twin1.sqsh"
expect_same_tree "$layout" "$WORK/out/twin2.sqsh"
expect_no_temp_files
compgen -G "$CACHE/blobs/sha256/*.partial" >/dev/null &&
  fail "partial files left after concurrent imports: $(compgen -G "$CACHE/blobs/sha256/*.partial") $(twin_errors)"
stop_faultproxy
echo "PASS"
