#!/bin/sh
# hpclaunch hook (hooks.d): the host's MPI inside the container, as Sarus
# `--mpi`, Shifter `--module mpich` and podman-hpc `--mpi` do. Install it as
# /etc/hpclaunch/hooks.d/50-host-mpi.sh (or ~/.config/hpclaunch/hooks.d/).
#
# It binds the host's libmpi and the libraries it needs over the image's
# files of the same soname, only when the sonames match (Open MPI
# libmpi.so.40, the MPICH ABI libmpi.so.12); otherwise it refuses with one
# line naming both. It also binds the host's Open MPI plugin directory and
# the libfabric / UCX provider directories where the image has them.
#
# Runs after the container's root is built, before any rank joins, in the
# container's mount namespace (the host is still reachable), as uid 0 of the
# container's user namespace. Variables:
#   HPCLAUNCH_ROOTFS        the container root (set by hpclaunch)
#   HPCLAUNCH_HOST_MPI      the host's libmpi to use (default: ldconfig's libmpi.so.40 or .12)
#   HPCLAUNCH_HOST_MPI_SKIP sonames of the closure never bound (default: the C library's)
# Bind only what the image has: a library of the closure the image lacks is
# refused, naming it (the container's directories cannot take new files).
set -eu
root=${HPCLAUNCH_ROOTFS:?run by hpclaunch as a hooks.d script}
say() { echo "host-mpi: $*" >&2; }
skip=${HPCLAUNCH_HOST_MPI_SKIP:-"linux-vdso.so.1 ld-linux-x86-64.so.2 libc.so.6 libm.so.6 libpthread.so.0 libdl.so.2 librt.so.1"}
libdirs="/lib /lib64 /usr/lib /usr/lib64 /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu /usr/local/lib /opt/hpcx/ompi/lib"

host_lib=${HPCLAUNCH_HOST_MPI:-$(ldconfig -p | awk '$1 ~ /^libmpi\.so\.(40|12)$/ { print $NF; exit }')}
[ -n "$host_lib" ] && [ -e "$host_lib" ] || { say "no libmpi.so.40 or libmpi.so.12 on this host (ldconfig -p); set HPCLAUNCH_HOST_MPI"; exit 1; }
host_soname=$(basename "$host_lib")
case $host_soname in
  libmpi.so.40) host_kind="Open MPI" ;;
  libmpi.so.12) host_kind="MPICH ABI" ;;
  *) say "the host's $host_lib is neither libmpi.so.40 (Open MPI) nor libmpi.so.12 (MPICH ABI)"; exit 1 ;;
esac

# A path of the image with its symlinks resolved inside the root, never on
# the host (an absolute link target is the image's, not the host's).
in_root() {
  path=$1
  n=0
  while [ -L "$root$path" ]; do
    n=$((n + 1))
    [ $n -le 40 ] || { say "too many symlinks at $1 in the image"; exit 1; }
    link=$(readlink "$root$path")
    case $link in
      /*) path=$link ;;
      *) path=$(dirname "$path")/$link ;;
    esac
  done
  echo "$path"
}

# The image's file for a soname, "" when it has none.
image_file() {
  for dir in $libdirs; do
    if [ -e "$root$dir/$1" ]; then
      in_root "$dir/$1"
      return
    fi
  done
}

image_lib=$(image_file "$host_soname")
if [ -z "$image_lib" ]; then
  other=$(for dir in $libdirs; do
    for f in "$root$dir"/libmpi.so.*; do [ -e "$f" ] && basename "$f"; done
  done | sort -u | tr '\n' ' ' | sed 's/ $//')
  say "the host's $host_soname ($host_kind) does not match the image's MPI (${other:-no libmpi}); the image needs an MPI of the same ABI"
  exit 1
fi

bind() {  # HOST_FILE IMAGE_PATH
  mount --bind "$1" "$root$2"
  echo "bound $1 over $2"
}

bind "$(readlink -f "$host_lib")" "$image_lib"
# The dependency closure, as the host's loader resolves it.
ldd "$host_lib" | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }' | while read -r soname path; do
  case " $skip " in *" $soname "*) continue ;; esac
  target=$(image_file "$soname")
  [ -n "$target" ] || { say "the image has no $soname (needed by the host's $host_soname, from $path)"; exit 1; }
  bind "$(readlink -f "$path")" "$target"
done
# Plugins the host's MPI and fabric libraries load at run time (same paths inside).
host_dir=$(dirname "$(readlink -f "$host_lib")")
for dir in "$host_dir/openmpi" "$host_dir/libfabric" "$host_dir/ucx"; do
  if [ -d "$dir" ] && [ -d "$root$dir" ] && [ ! -L "$root$dir" ]; then
    mount --rbind "$dir" "$root$dir"
    echo "bound $dir"
  fi
done
