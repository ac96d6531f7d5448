# bash completion for sbx                                  -*- shell-script -*-
# SPDX-License-Identifier: GPL-2.0-or-later
# Installed as share/bash-completion/completions/sbx; also `sbx completion bash`.
# Commands and flags come from sbx's own --help, so they never go stale;
# image and container names from `sbx images` and `sbx ps -a`.

_sbx_cmd() {
  local sbx=${COMP_WORDS[0]:-sbx}
  [[ $sbx == sbx || -x $sbx ]] || sbx=sbx
  command "$sbx" "$@" 2>/dev/null
}

_sbx_commands() {
  _sbx_cmd --help | awk '/^Commands:/ { on = 1; next } /^$/ { on = 0 } on && /^  [a-z]/ { print $1 }'
}

_sbx_flags() {
  _sbx_cmd "$@" --help | grep -oE '(^|[[:space:],])--?[a-zA-Z][a-zA-Z-]*' |
    sed 's/^[[:space:],]*//' | sort -u
}

_sbx_images() {
  _sbx_cmd images --format '{{.Repository}}:{{.Tag}}' | grep -v '^<none>'
}

_sbx_containers() {
  local out
  if out=$(_sbx_cmd ps -a --format '{{.Names}}') && [[ $out != *'{{'* ]]; then
    printf '%s\n' "$out"
  else
    _sbx_cmd ps -a --format json | _sbx_json_names
  fi
}

# The strings of every "Names" array (or "Name" string) of a JSON listing.
_sbx_json_names() {
  awk '/"Names?": *\[/ { on = 1 }
       /"Name": *"/ { s = $0; sub(/.*"Name": *"/, "", s); sub(/".*/, "", s); print s }
       on { s = $0; sub(/.*"Names": *\[/, "", s)
            while (match(s, /"[^"]*"/)) { print substr(s, RSTART + 1, RLENGTH - 2); s = substr(s, RSTART + RLENGTH) } }
       on && /\]/ { on = 0 }'
}

_sbx_volumes() {
  _sbx_cmd volume ls -q
}


_sbx() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
  local i cmd='' sub='' cmd_at=0
  COMPREPLY=()

  for ((i = 1; i < COMP_CWORD; i++)); do
    case ${COMP_WORDS[i]} in
      --log-level | --log-format | --root) ((i++)) ;;
      -*) ;;
      *)
        if [[ -z $cmd ]]; then
          cmd=${COMP_WORDS[i]}
          cmd_at=$i
        elif [[ -z $sub && $cmd =~ ^(image|system|volume|completion)$ ]]; then
          sub=${COMP_WORDS[i]}
        fi
        ;;
    esac
  done

  case $prev in
    --log-level) mapfile -t COMPREPLY < <(compgen -W 'error warn info debug' -- "$cur"); return ;;
    --log-format) mapfile -t COMPREPLY < <(compgen -W 'text json' -- "$cur"); return ;;
    --root | --rootfs | -f | --file | -o | --output | -i | --input | --env-file | -w | --workdir)
      mapfile -t COMPREPLY < <(compgen -f -- "$cur"); return ;;
    --storage-driver) mapfile -t COMPREPLY < <(compgen -W 'auto overlay fuse' -- "$cur"); return ;;
    --network) mapfile -t COMPREPLY < <(compgen -W 'slirp host none' -- "$cur"); return ;;
    --format) mapfile -t COMPREPLY < <(compgen -W 'table json text' -- "$cur"); return ;;
  esac

  if [[ -z $cmd ]]; then
    if [[ $cur == -* ]]; then
      mapfile -t COMPREPLY < <(compgen -W "$(_sbx_flags)" -- "$cur")
    else
      mapfile -t COMPREPLY < <(compgen -W "$(_sbx_commands)" -- "$cur")
    fi
    return
  fi

  if [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$(_sbx_flags "$cmd" ${sub:+"$sub"})" -- "$cur")
    return
  fi

  local words
  case $cmd in
    image | system | volume)
      if [[ -z $sub ]]; then
        words=$(_sbx_cmd "$cmd" --help | awk '/^Commands:/ { on = 1; if (NF > 1) { sub(/^Commands: */, ""); gsub(/,/, " "); print; on = 0 }; next } /^$/ { on = 0 } on && /^  [a-z]/ { print $1 }')
      else
        case $cmd/$sub in
          image/rm | image/inspect | image/tag) words=$(_sbx_images) ;;
          volume/rm | volume/inspect) words=$(_sbx_volumes) ;;
        esac
      fi
      ;;
    completion) [[ -z $sub ]] && words='bash zsh' ;;
    run | create | build | push | save | tag | rmi | inspect | history)
      # The image is the first argument that is not a flag.
      local args=0
      for ((i = cmd_at + 1; i < COMP_CWORD; i++)); do
        [[ ${COMP_WORDS[i]} == -* ]] || ((args++))
      done
      if [[ $cmd =~ ^(run|create)$ ]] && ((args > 0)); then
        mapfile -t COMPREPLY < <(compgen -c -- "$cur")
        return
      fi
      [[ $cmd == build ]] && { mapfile -t COMPREPLY < <(compgen -d -- "$cur"); return; }
      words=$(_sbx_images)
      ;;
    ps | images | info | version | login | logout | pull | load | unshare) ;;
    import) mapfile -t COMPREPLY < <(compgen -f -- "$cur"); return ;;
    *) words=$(_sbx_containers) ;;
  esac
  case $prev in
    -v | --volume | --mount) words=$(_sbx_volumes) ;;
  esac
  [[ -n $words ]] && mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
  return 0
}

complete -F _sbx sbx
