#!/usr/bin/env bash
# The .deb (CPack, as scripts/package makes it) declares the package of every
# library each binary needs (dpkg -S on the host), and installs in a fresh
# Debian 12 root (mmdebstrap --variant=apt, cached as a tarball) with apt
# resolving its dependencies; there `hpclaunch version` prints the version,
# `hpclaunch doctor` runs and prints its table, and every binary's libraries
# load. Doctor's failing checks are expected there (a chroot gets no user
# namespace; no mpirun is installed); that it runs is the point.
set -euo pipefail
BUILD=${HPCLAUNCH_BUILD:?set by ctest}
if [ "$(id -u)" != 0 ]; then
  echo "SKIP: needs root (mmdebstrap, chroot)"
  exit 0
fi
# The base root and apt's downloads are kept between runs.
CACHE=${HPCLAUNCH_TEST_CACHE:-/var/cache/hpclaunch-tests}
BASE=$CACHE/bookworm-apt.tar
WORK=$(mktemp -d /tmp/hlpkg.XXXXXX)
# The chroot's mounts live in a private mount namespace that ends with its
# shell, so nothing is mounted under $WORK when it is removed.
trap 'rm -rf "$WORK"' EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
seconds() { echo $((SECONDS - start)); }
start=$SECONDS

version=$("$BUILD/hpclaunch" version)
deb=$WORK/deb/hpclaunch_${version#hpclaunch }_amd64.deb
(cd "$BUILD" && cpack -G DEB -B "$WORK/deb") >"$WORK/cpack.log" 2>&1 || { cat "$WORK/cpack.log"; fail "cpack"; }
[ -f "$deb" ] || fail "cpack made no $deb: $(ls "$WORK/deb")"
echo "package built in $(seconds) s"

# Every library a binary needs comes from a package the .deb depends on.
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
declares() { tr ',' '\n' <<<"$1" | awk '{ print $1 }' | grep -qxF "$2"; }  # FIELD PACKAGE
package_of() {  # a library path as ldd shows it (Debian 12 ships /usr/lib, ldd may say /lib)
  { dpkg -S "$1" || dpkg -S "/usr$1" || dpkg -S "$(readlink -f "$1")"; } 2>/dev/null | head -n 1 | cut -d: -f1
}
for b in hpclaunch hpclaunch-node hpclaunch-join hpclaunch-import; do
  for lib in $(readelf -d "$BUILD/$b" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    path=$(ldd "$BUILD/$b" | awk -v l="$lib" '$1 == l { print $3 }')
    pkg=$(package_of "$path")
    [ -n "$pkg" ] || fail "$b: no package has $lib ($path)"
    declares "$depends" "$pkg" || fail "$b needs $lib of $pkg, which Depends lacks: $depends"
  done
done
for pkg in squashfs-tools-ng; do
  declares "$depends" "$pkg" || fail "Depends lacks $pkg (hpclaunch import runs tar2sqfs)"
done
declares "$(dpkg-deb -f "$deb" Recommends)" openmpi-bin || fail "Recommends lacks openmpi-bin"

# A fresh Debian 12 root, from the cached tarball (made once, ~30 s).
mkdir -p "$CACHE/apt-archives/partial"
(
  flock 9
  if [ ! -s "$BASE" ]; then
    echo "making $BASE with mmdebstrap"
    mmdebstrap --quiet --format=tar --variant=apt bookworm "$BASE.tmp" /etc/apt/sources.list.d/debian.sources ||
      { rm -f "$BASE.tmp"; exit 1; }
    mv "$BASE.tmp" "$BASE"
  fi
) 9>"$CACHE/.lock" || fail "mmdebstrap"
ROOT=$WORK/root
mkdir "$ROOT"
tar -C "$ROOT" -xf "$BASE"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
cp "$deb" "$ROOT/tmp/"
echo "root ready in $(seconds) s"

unshare --mount --propagation private bash -s "$ROOT" "/tmp/${deb##*/}" "$CACHE/apt-archives" "$WORK" <<'EOF' ||
set -euo pipefail
root=$1 deb=$2 archives=$3 work=$4
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount --rbind /sys "$root/sys"
mount --bind "$archives" "$root/var/cache/apt/archives"
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root DEBIAN_FRONTEND=noninteractive "$@"; }
apt_options=(-o APT::Sandbox::User=root -o APT::Keep-Downloaded-Packages=true -qq)
in_root apt-get "${apt_options[@]}" update >"$work/apt.log" 2>&1 || { cat "$work/apt.log"; exit 1; }
in_root apt-get "${apt_options[@]}" install -y --no-install-recommends "$deb" >>"$work/apt.log" 2>&1 ||
  { tail -n 30 "$work/apt.log"; exit 1; }
in_root dpkg-query -W -f='${Status}\n' hpclaunch squashfs-tools-ng libpmix2 libsquashfuse0 >"$work/status"
in_root hpclaunch version >"$work/version"
set +e
in_root hpclaunch doctor >"$work/doctor" 2>&1
echo $? >"$work/doctor.rc"
in_root hpclaunch doctor --json >"$work/doctor.json" 2>"$work/doctor.json.err"
set -e
in_root ls /usr/bin/hpclaunch /usr/bin/hpclaunch-node /usr/bin/hpclaunch-join /usr/bin/hpclaunch-import \
  /usr/share/man/man1/hpclaunch.1.gz /usr/share/bash-completion/completions/hpclaunch \
  /usr/share/modulefiles/hpclaunch /usr/share/doc/hpclaunch/examples/sbatch/solver.sbatch >"$work/files"
in_root bash -n /usr/share/bash-completion/completions/hpclaunch
EOF
  fail "installing the .deb in the fresh root"
echo "installed and run in $(seconds) s"

expect_eq() { [ "$1" = "$2" ] || fail "$3: expected '$1', got '$2'"; }
expect_eq "$(printf 'install ok installed\n%.0s' 1 2 3 4)" "$(cat "$WORK/status")" "dpkg status of hpclaunch and its dependencies"
expect_eq "$version" "$(cat "$WORK/version")" "hpclaunch version in the fresh root"
cat "$WORK/doctor"
code=$(cat "$WORK/doctor.rc")
[ "$code" = 0 ] || [ "$code" = 1 ] || fail "hpclaunch doctor exited $code"
grep -Eq "^CHECK +NEED +RESULT +DETAIL$" "$WORK/doctor" || fail "doctor printed no table"
grep -Eq "^launches (can|cannot) work on this node" "$WORK/doctor" || fail "doctor printed no verdict"
# A fresh system has every library the binaries need: the .deb's dependencies are complete.
for b in hpclaunch-node hpclaunch-join hpclaunch-import; do
  expect_eq ok "$(python3 -c 'import json,sys; print([c["result"] for c in json.load(open(sys.argv[1]))["checks"] if c["id"] == sys.argv[2]][0])' \
    "$WORK/doctor.json" "binary.$b")" "$b's libraries in the fresh root"
done
echo "PASS ($(seconds) s)"
