#!/usr/bin/env bash
# 4 ranks print rank/size and a marker file that exists only in the image;
# all share one mount and one user namespace, different from the host's.
source "$(dirname "$0")/lib.sh"
out=$(hl -n 4 --image "$IMAGE" hello)
echo "$out"
expect_eq 4 "$(grep -c '^hello rank=' <<<"$out")" "rank lines"
expect_eq "0 1 2 3" "$(grep -o 'rank=[0-9]*' <<<"$out" | cut -d= -f2 | sort -n | tr '\n' ' ' | sed 's/ $//')" "ranks"
expect_eq 4 "$(grep -c 'size=4 ' <<<"$out")" "size=4 on every rank"
expect_eq 4 "$(grep -c 'marker=hpclaunch-example-image' <<<"$out")" "image marker seen by every rank"
[ -e /etc/hpclaunch-example-marker ] && fail "the marker must exist only in the image"
expect_eq 1 "$(grep -o 'mntns=[0-9]*' <<<"$out" | sort -u | wc -l)" "one mount namespace"
expect_eq 1 "$(grep -o 'userns=[0-9]*' <<<"$out" | sort -u | wc -l)" "one user namespace"
host_mnt=$(as_user readlink /proc/self/ns/mnt | tr -dc 0-9)
host_user=$(as_user readlink /proc/self/ns/user | tr -dc 0-9)
grep -q "mntns=$host_mnt " <<<"$out" && fail "ranks are in the host's mount namespace"
grep -q "userns=$host_user " <<<"$out" && fail "ranks are in the host's user namespace"
expect_eq 4 "$(grep -c "uid=$(id -u "$TEST_USER") " <<<"$out")" "same uid inside"
echo PASS
