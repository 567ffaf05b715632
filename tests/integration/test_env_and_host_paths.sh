#!/usr/bin/env bash
# Environment hygiene and host paths (issue 14, parts 2 and 3): --cleanenv
# keeps only the image's variables, the launcher's and the keep-list;
# --unset-env NAME and PREFIX*; --no-home; --contain (a private /tmp and
# /var/tmp per node container); --mount options (ro, nofail, x-create=file)
# and an fstab line.
source "$(dirname "$0")/lib.sh"
baseline=$(fuse_connections)
launch() {  # ENV... -- ARGS... : hpclaunch as the test user with extra variables
  local vars=()
  while [ "$1" != -- ]; do vars+=("$1"); shift; done
  shift
  set +e
  out=$(cd "$WORK" && "${RUN_AS[@]}" env OMPI_MCA_mpi_yield_when_idle=1 "${vars[@]}" timeout 120 "$HPCLAUNCH" "$@" 2>&1)
  code=$?
  set -e
  echo "$out"
}
has() { grep -qx "$1" <<<"$out" || fail "$2: no line '$1'"; }
lacks() { grep -q "$1" <<<"$out" && fail "$2: found '$1'"; return 0; }

echo "(1) by default the host's variables reach the ranks"
launch HOST_ONLY=1 CONDA_PREFIX=/c CONDA_SHLVL=1 -- -n 1 --image "$IMAGE" env
has HOST_ONLY=1 "host variable"
has CONDA_SHLVL=1 "host variable"

echo "(2) --cleanenv: the image's, the launcher's and the keep-list only"
launch HOST_ONLY=1 TERM=xterm-test LANG=C.UTF-8 -- -n 2 --image "$IMAGE" --cleanenv --env MINE=yes env
lacks HOST_ONLY "--cleanenv"
has TERM=xterm-test "keep-list"
has LANG=C.UTF-8 "keep-list"
has HPCLAUNCH_EXAMPLE_IMAGE=1 "the image's /etc/environment"
has MINE=yes "--env"
has PATH=/usr/local/bin:/usr/bin:/bin "the image's PATH"
grep -q '^OMPI_COMM_WORLD_RANK=1$' <<<"$out" || fail "--cleanenv dropped the launcher's variables"

echo "(3) --unset-env NAME and PREFIX*"
launch HOST_ONLY=1 CONDA_PREFIX=/c CONDA_SHLVL=1 -- -n 1 --image "$IMAGE" --unset-env 'CONDA_*' --unset-env HOST_ONLY \
  --unset-env 'OMPI_*' env
lacks CONDA_ "--unset-env CONDA_*"
lacks HOST_ONLY "--unset-env HOST_ONLY"
grep -q '^OMPI_COMM_WORLD_RANK=0$' <<<"$out" || fail "--unset-env removed the launcher's variables"
launch -- -n 1 --image "$IMAGE" --unset-env 'A=B' true
expect_eq 1 "$code" "exit status of a bad --unset-env"
grep -qx "hpclaunch: error: --unset-env .A=B.: expected a variable name or a PREFIX\*; e.g. .*" <<<"$out" ||
  fail "unclear --unset-env error"

echo "(4) --no-home"
home=$(as_user sh -c 'echo $HOME')
launch -- -n 1 --image "$IMAGE" sh -c 'test -d "$HOME" && echo home-bound || echo no-home'
has home-bound "\$HOME is bound by default"
launch -- -n 1 --image "$IMAGE" --no-home sh -c 'test -d "$HOME" && echo home-bound || echo no-home'
has no-home "--no-home"

echo "(5) --contain: a private /tmp and /var/tmp per node container"
marker=hl-contain-$$
launch -- -n 2 --image "$IMAGE" --contain sh -c "echo x >/tmp/$marker.\$OMPI_COMM_WORLD_RANK && \
  echo y >/var/tmp/$marker && sleep 1 && ls -1 /tmp"
expect_eq 0 "$code" "exit status with --contain"
[ -e "/tmp/$marker.0" ] && fail "--contain wrote to the host's /tmp"
[ -e "/var/tmp/$marker" ] && fail "--contain wrote to the host's /var/tmp"
expect_eq 2 "$(grep -cx "$marker.1" <<<"$out")" "ranks that see rank 1's file in the private /tmp"
launch -- -n 1 --image "$IMAGE" sh -c "test -e /tmp/$marker.0 && echo still-there || echo fresh"
has fresh "a private /tmp does not outlive its container"

echo "(6) --mount options and an fstab line"
mkdir -p "$WORK/data"
echo data >"$WORK/data/file"
echo one >"$WORK/single"
[ "$(id -u)" = 0 ] && chown -R "$TEST_USER" "$WORK/data" "$WORK/single"
launch -- -n 1 --image "$IMAGE" --mount "$WORK/missing:/opt/missing:nofail" \
  --mount "$WORK/single:/opt/new/single:ro,x-create=file" --mount "$WORK/data /opt/data none bind,ro 0 0" \
  sh -c 'cat /opt/new/single /opt/data/file; test -e /opt/missing || echo skipped; touch /opt/data/x 2>/dev/null || echo ro'
has one "x-create=file"
has data "fstab line"
has skipped "nofail"
has ro "fstab ro"
launch -- -n 1 --image "$IMAGE" --mount "$WORK/missing:/opt/missing" true
expect_eq 1 "$code" "a missing --mount source without nofail"
expect_no_leftovers "$baseline"
echo PASS
