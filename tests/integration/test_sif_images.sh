#!/usr/bin/env bash
# Apptainer / Singularity images (issue 14, part 6): a SIF made by
# tests/integration/make-sif (global header, descriptor table, the example
# image as its squashfs system partition) runs in place, also through the
# node step (the partition's offset broadcast with the superblock); an
# encrypted, an ext3 and a partition-less SIF are refused with one line each.
source "$(dirname "$0")/lib.sh"
baseline=$(fuse_connections)
make_sif() {  # NAME [make-sif options]
  local name=$1
  shift
  python3 "$HPCLAUNCH_SOURCE/tests/integration/make-sif" "$WORK/$name.sif" "$IMAGE" "$@"
  [ "$(id -u)" = 0 ] && chown "$TEST_USER" "$WORK/$name.sif"
  return 0
}
launch() {  # ARGS...
  set +e
  out=$(hl "$@" 2>&1)
  code=$?
  set -e
  echo "$out"
}

echo "(1) a SIF runs in place"
make_sif app
launch -n 2 --image "$WORK/app.sif" hello
expect_eq 0 "$code" "exit status with a SIF"
expect_eq 2 "$(grep -c 'marker=hpclaunch-example-image' <<<"$out")" "ranks in the SIF's root"
out=$(cd "$WORK" && "${RUN_AS[@]}" env OMPI_MCA_mpi_yield_when_idle=1 HPCLAUNCH_NODE_STEP=always timeout 120 \
  "$HPCLAUNCH" -n 2 --image "$WORK/app.sif" hello 2>&1)
echo "$out"
expect_eq 2 "$(grep -c 'marker=hpclaunch-example-image' <<<"$out")" "ranks in the SIF's root (node step)"

echo "(2) what cannot run is one line"
for kind in "encrypted:--fstype 5:its system partition is encrypted squashfs, which hpclaunch cannot read" \
  "ext3:--fstype 2:its system partition is ext3, not squashfs" \
  "empty:--no-partition:it has no squashfs partition"; do
  IFS=: read -r name option text <<<"$kind"
  make_sif "$name" $option
  launch -n 2 --image "$WORK/$name.sif" hello
  expect_eq 1 "$code" "exit status ($name SIF)"
  expect_eq 1 "$(grep -c . <<<"$out")" "lines of output ($name SIF)"
  grep -q "error: image .*$name.sif. (SIF): $text; " <<<"$out" || fail "unclear $name SIF error: $out"
done
expect_no_leftovers "$baseline"
echo PASS
