#!/usr/bin/env bash
# gen-man.sh HPCLAUNCH OUT.1 [HELP2MAN]: hpclaunch(1) from the binaries' own
# help, so the page says what --help says: help2man over `hpclaunch help`
# (the command table), then a section per command in that table with its
# `hpclaunch COMMAND --help`, verbatim (those that have options). Writes OUT.1 and OUT.1.gz.
set -euo pipefail
hpclaunch=$1 out=$2 help2man=${3:-help2man}
include=$(mktemp)
trap 'rm -f "$include"' EXIT

# Preformatted roff: backslashes escaped, a line starting with . or ' kept
# as text, hyphens as minus signs (so options copy and paste as typed).
roff_verbatim() {
  sed -e 's/\\/\\e/g' -e 's/-/\\-/g' -e "s/^\([.']\)/\\\\\&\1/"
}

commands=$("$hpclaunch" help | sed -n '/^Commands:$/,/^$/s/^  \([a-z][a-z0-9-]*\) .*/\1/p')
[ -n "$commands" ] || { echo "gen-man.sh: \`$hpclaunch help\` lists no commands" >&2; exit 1; }
{
  echo "[COMMANDS]"
  for c in $commands; do
    # help2man's own text is `hpclaunch help`; a command without options
    # (`version`) answers --help with no usage.
    [ "$c" = help ] && continue
    text=$("$hpclaunch" "$c" --help)
    grep -q "^Usage:" <<<"$text" || continue
    echo ".SS \"hpclaunch $c\""
    echo ".nf"
    roff_verbatim <<<"$text"
    echo ".fi"
  done
  echo "[EXIT STATUS]"
  echo "0 when every rank succeeded; a failing rank's exit code is passed through; 128+N for a rank"
  echo "killed by signal N; 127 when the program is not in the container; 1 for hpclaunch's own errors."
  echo "\\fBhpclaunch doctor\\fR exits 0 when every required check passes."
  echo "[SEE ALSO]"
  echo ".BR srun (1),"
  echo ".BR mpirun (1),"
  echo ".BR mksquashfs (1)."
  echo ".PP"
  echo "The README (/usr/share/doc/hpclaunch/README.md when installed from the .deb) describes"
  echo "the runtime directory, Slurm and companion mode, images, and the kernel baseline."
} >"$include"

mkdir -p "$(dirname "$out")"
"$help2man" --no-info --section=1 --help-option=help --version-option=version \
  --name="run MPI programs in unprivileged containers, one shared container per node" \
  --include="$include" --output="$out.tmp" "$hpclaunch"
mv "$out.tmp" "$out"
gzip -9nc "$out" >"$out.gz"
