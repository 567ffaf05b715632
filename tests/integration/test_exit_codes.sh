#!/usr/bin/env bash
# A failing rank's exit code is passed through; a signal N gives 128+N.
source "$(dirname "$0")/lib.sh"
set +e
hl -n 4 --image "$IMAGE" hello --exit-rank 1 --exit-code 3 >/dev/null; code=$?
expect_eq 3 "$code" "rank 1 exits 3"
hl -n 1 --image "$IMAGE" sh -c 'exit 5'; code=$?
expect_eq 5 "$code" "sh exits 5"
hl -n 2 --image "$IMAGE" sh -c 'kill -9 $$'; code=$?
expect_eq 137 "$code" "rank killed by SIGKILL"
hl -n 2 --image "$IMAGE" true; code=$?
expect_eq 0 "$code" "success"
echo PASS
