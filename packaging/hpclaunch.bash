# bash completion for hpclaunch (installed as
# share/bash-completion/completions/hpclaunch). Nothing here lists a command
# or an option: the commands come from `hpclaunch help`, each command's
# options from `hpclaunch COMMAND --help`, asked of the hpclaunch being
# completed (so a module's newer hpclaunch completes its own options), once
# per shell. --image completes *.sqsh and *.sif files; a value with choices
# ({auto,mpirun,srun}) completes them; after the program of `run` or `exec`
# the words are the program's.

declare -gA _hpclaunch_cache=()

# The output of `BIN ARGS...`, asked once per shell.
_hpclaunch_ask() {
  local key="$*"
  [[ -n ${_hpclaunch_cache[$key]+set} ]] || _hpclaunch_cache[$key]=$("$@" 2>/dev/null </dev/null)
  printf '%s\n' "${_hpclaunch_cache[$key]}"
}

# The command names in the "Commands:" block of `hpclaunch help`.
_hpclaunch_commands() {
  _hpclaunch_ask "$1" help | sed -n '/^Commands:$/,/^$/s/^  \([a-z][a-z0-9-]*\) .*/\1/p'
}

# "NAME TYPE" per option of a command, TYPE "-" for a flag, from CLI11's
# help lines: "  -n,--ntasks INT       text", "  --dry-run      text".
_hpclaunch_options() {
  _hpclaunch_ask "$1" "$2" --help | awk '
    /^  -/ {
      line = substr($0, 3)
      names = line
      sub(/ .*/, "", names)
      rest = substr(line, length(names) + 1)
      type = "-"
      if (rest ~ /^ [^ ]/) { type = substr(rest, 2); sub(/ .*/, "", type) }
      n = split(names, parts, ",")
      for (i = 1; i <= n; i++) print parts[i], type
    }'
}

# COMPREPLY for the value of OPTION (of CLI11 type TYPE) starting with CUR.
_hpclaunch_values() {
  local option=$1 type=$2 cur=$3
  if [[ $type == *\{*\}* ]]; then
    local choices=${type#*\{}
    choices=${choices%%\}*}
    mapfile -t COMPREPLY < <(compgen -W "${choices//,/ }" -- "$cur")
    return
  fi
  if [[ $option == --image ]]; then
    compopt -o filenames 2>/dev/null
    mapfile -t COMPREPLY < <(compgen -d -- "$cur"; compgen -f -X '!*.sqsh' -- "$cur"; compgen -f -X '!*.sif' -- "$cur")
    return
  fi
  case $type in
    INT | N | S | *INT*) COMPREPLY=() ;;  # a number: nothing to offer
    DIR | *:DIR)
      compopt -o filenames 2>/dev/null
      mapfile -t COMPREPLY < <(compgen -d -- "$cur")
      ;;
    *)
      compopt -o filenames 2>/dev/null
      mapfile -t COMPREPLY < <(compgen -f -- "$cur")
      ;;
  esac
}

_hpclaunch() {
  local cur prev words cword split=false
  if declare -F _init_completion >/dev/null; then
    _init_completion -s -n : || return
  else
    words=("${COMP_WORDS[@]}") cword=$COMP_CWORD cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    # Without bash-completion, "--bind=co" arrives as "--bind" "=" "co".
    if [[ $prev == = ]] && ((cword > 1)); then prev=${words[cword - 2]} split=true; fi
    [[ $cur == = ]] && cur="" prev=${words[cword - 1]} split=true
  fi
  COMPREPLY=()
  local bin=${words[0]}
  [[ $bin == */* ]] || bin=$(type -P "$bin") || return
  local -a commands
  mapfile -t commands < <(_hpclaunch_commands "$bin")

  # The command: the first word when it is one, else `run` (the default).
  local command=run first=1
  if ((cword > 1)) && [[ " ${commands[*]} " == *" ${words[1]} "* ]]; then
    command=${words[1]} first=2
  fi
  case $command in
    help)
      ((cword == 2)) && mapfile -t COMPREPLY < <(compgen -W "${commands[*]}" -- "$cur")
      return
      ;;
    version | --version) return ;;
  esac

  local -A type=()
  local name t
  while read -r name t; do type[$name]=$t; done < <(_hpclaunch_options "$bin" "$command")

  # Past `--`, or past PROGRAM of run/exec (the first word that is neither an
  # option nor an option's value), the words are the program's.
  local i w
  for ((i = first; i < cword; i++)); do
    w=${words[i]}
    [[ $w == -- ]] && { compopt -o default 2>/dev/null; return; }
    if [[ $w == -* ]]; then
      [[ $w != *=* && ${type[$w]:--} != - ]] && ((i++))  # its value is the next word
      [[ ${words[i + 1]:-} == = ]] && ((i += 2))         # "--opt" "=" "value" (no bash-completion)
      continue
    fi
    if [[ $command == run || $command == exec ]]; then
      compopt -o default 2>/dev/null
      return
    fi
  done

  if [[ $split == true || (${type[$prev]:--} != - && $cword -gt $first) ]]; then
    if [[ -n ${type[$prev]+set} && ${type[$prev]} != - ]]; then
      _hpclaunch_values "$prev" "${type[$prev]}" "$cur"
      declare -F __ltrim_colon_completions >/dev/null && __ltrim_colon_completions "$cur"
      return
    fi
  fi
  if [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "${!type[*]}" -- "$cur")
  elif ((cword == 1)); then
    mapfile -t COMPREPLY < <(compgen -W "${commands[*]}" -- "$cur")
  elif [[ $command == run || $command == exec ]]; then
    compopt -o default 2>/dev/null  # PROGRAM: a command in the image, or a file here
  fi
}

complete -F _hpclaunch hpclaunch
