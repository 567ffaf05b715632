#!/usr/bin/env bash
# `cmake --install build --prefix P` into a temporary prefix (as an admin
# would), then as the unprivileged test user: the Lmod module puts hpclaunch
# on PATH and its man page on MANPATH (without hiding the system's), the
# installed binaries find each other, man shows every command and option
# the binaries' --help shows, and the bash completion (found through the
# module) completes commands, options, choices and --image files.
source "$(dirname "$0")/../integration/lib.sh"

PREFIX=$WORK/prefix
cmake --install "$BUILD" --prefix "$PREFIX" >"$WORK/install.log" 2>&1 || { cat "$WORK/install.log"; fail "cmake --install"; }
chmod -R a+rX "$PREFIX"
version=$("$BUILD/hpclaunch" version)
number=${version#hpclaunch }

for f in bin/hpclaunch bin/hpclaunch-node bin/hpclaunch-join bin/hpclaunch-import; do
  [ -x "$PREFIX/$f" ] || fail "$f is not installed"
done
for f in share/man/man1/hpclaunch.1.gz share/bash-completion/completions/hpclaunch \
  "share/modulefiles/hpclaunch/$number.lua" share/doc/hpclaunch/README.md; do
  [ -f "$PREFIX/$f" ] || fail "$f is not installed"
done
for f in "$HPCLAUNCH_SOURCE"/examples/sbatch/*; do
  cmp -s "$f" "$PREFIX/share/doc/hpclaunch/examples/sbatch/${f##*/}" || fail "examples/sbatch/${f##*/} is not installed"
done
if [ -d "$HPCLAUNCH_SOURCE/examples/hooks" ]; then
  diff -r "$HPCLAUNCH_SOURCE/examples/hooks" "$PREFIX/share/doc/hpclaunch/examples/hooks" || fail "examples/hooks differ"
fi

# A login-like shell of the user's with Lmod, the module loaded.
lmod_shell() {  # script [args...]
  as_user env -i HOME="$WORK" PATH=/usr/local/bin:/usr/bin:/bin TERM=dumb bash -c \
    "source /usr/share/lmod/lmod/init/bash && module use '$PREFIX/share/modulefiles' && module load hpclaunch && $1" _ "${@:2}"
}

out=$(lmod_shell 'hpclaunch version; type -P hpclaunch; man -w hpclaunch; man -w ls; hpclaunch doctor >/dev/null; echo "doctor $?"
module unload hpclaunch; type -P hpclaunch || echo "unloaded"')
echo "$out"
expect_eq "$version" "$(sed -n 1p <<<"$out")" "hpclaunch version after module load"
expect_eq "$PREFIX/bin/hpclaunch" "$(sed -n 2p <<<"$out")" "hpclaunch on PATH"
expect_eq "$PREFIX/share/man/man1/hpclaunch.1.gz" "$(sed -n 3p <<<"$out")" "man -w hpclaunch"
expect_eq /usr/share/man/man1/ls.1.gz "$(sed -n 4p <<<"$out")" "man -w ls (system pages still found)"
# The installed hpclaunch found the installed hpclaunch-node (next to it) and this node can launch.
expect_eq "doctor 0" "$(sed -n 5p <<<"$out")" "hpclaunch doctor from the prefix"
expect_eq unloaded "$(sed -n 6p <<<"$out")" "hpclaunch after module unload"
lmod_shell 'hpclaunch doctor' | grep -Eq "^hpclaunch-node +req +ok +\`$PREFIX/bin/hpclaunch-node\`" ||
  fail "doctor did not use the installed hpclaunch-node"

# The man page shows every command of the table with options, and every option of each.
page=$(lmod_shell 'MANWIDTH=200 man -P cat hpclaunch 2>/dev/null | col -b')
commands=$("$BUILD/hpclaunch" help | sed -n '/^Commands:$/,/^$/s/^  \([a-z][a-z0-9-]*\) .*/\1/p')
[ -n "$commands" ] || fail "hpclaunch help lists no commands"
for c in $commands; do
  [ "$c" = help ] && continue                                      # the page's own text
  grep -q "^Usage:" <<<"$("$BUILD/hpclaunch" "$c" --help)" || continue  # version: no options
  grep -q "^   hpclaunch $c$" <<<"$page" || fail "man page has no section for hpclaunch $c"
  for o in $("$BUILD/hpclaunch" "$c" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
    grep -q -- "$o" <<<"$page" || fail "man page lacks $o of hpclaunch $c"
  done
done
grep -q "^   hpclaunch doctor$" <<<"$page" || fail "man page has no doctor section"

# Bash completion, loaded by bash-completion from the module's XDG_DATA_DIRS.
# comp WORDS... completes the last word as bash would ("--bind=co" is the
# three words "--bind" "=" "co" of the line "--bind=co").
mkdir -p "$WORK/images/sub"
touch "$WORK/images/app.sqsh" "$WORK/images/b.sif" "$WORK/images/c.txt"
[ "$(id -u)" = 0 ] && chown -R "$TEST_USER" "$WORK/images"
completions=$(lmod_shell 'source /usr/share/bash-completion/bash_completion && __load_completion hpclaunch &&
cd "$1" && complete -p hpclaunch &&
comp() {
  COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMP_LINE="$*"; COMP_LINE=${COMP_LINE// = /=}; COMP_POINT=${#COMP_LINE}
  COMPREPLY=(); _hpclaunch
  echo "$* => $(printf "%s\n" "${COMPREPLY[@]}" | sort | xargs)"
}
comp hpclaunch ""
comp hpclaunch doctor --
comp hpclaunch --la
comp hpclaunch --launcher ""
comp hpclaunch run --bind = co
comp hpclaunch topology --bind ""
comp hpclaunch import --ar
comp hpclaunch -n 4 --image ""
comp hpclaunch exec --image app.sqsh --gpus per-rank solver --st
comp hpclaunch help d' "$WORK/images")
echo "$completions"
expect_completion() {  # words result
  grep -qxF "$1 => $2" <<<"$completions" || fail "completing '$1': expected '$2' in: $completions"
}
grep -q "^complete -F _hpclaunch hpclaunch$" <<<"$completions" || fail "completion not loaded through XDG_DATA_DIRS"
expect_completion "hpclaunch " "$(sort <<<"$commands" | xargs)"
expect_completion "hpclaunch doctor --" "--help --image --json"
expect_completion "hpclaunch --la" "--launcher"
expect_completion "hpclaunch --launcher " "auto mpirun srun"
expect_completion "hpclaunch run --bind = co" "core"
expect_completion "hpclaunch topology --bind " "auto core none numa socket"
expect_completion "hpclaunch import --ar" "--arch"
expect_completion "hpclaunch -n 4 --image " "app.sqsh b.sif sub"
expect_completion "hpclaunch exec --image app.sqsh --gpus per-rank solver --st" ""
expect_completion "hpclaunch help d" "doctor"
echo PASS
