#!/usr/bin/env bash
# e2e: `dmachine completion bash|zsh|fish` driven in real shells. bash: the script
# is sourced and its function called with COMP_WORDS/COMP_CWORD set, as readline
# does on TAB; COMPREPLY is checked. Machine and cluster names come from a store of
# records that point at an address where nothing answers: completion must never
# contact a machine (it reads the store only, and must be fast). zsh and fish load
# their scripts without error (and fish completes commands).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/dm_fixture.sh"
E2E_STORE=$(mktemp -d /tmp/dm-e2e-completion.XXXXXX)
export MACHINE_STORAGE_PATH="$E2E_STORE"
trap 'rm -rf "$E2E_STORE" "$bin"' EXIT
bin=$(mktemp -d)
ln -s "$DMACHINE" "$bin/dmachine"
export PATH="$bin:$PATH"

# Records of machines web-a and web-b and a cluster prod, at an address of this
# suite's own subnet on which nothing exists.
ssh-keygen -q -t ed25519 -N '' -f "$bin/key" >/dev/null
adopt_dm_fixture "$E2E_STORE" 10.213.243.250 "$bin/key"
for name in web-a web-b; do
  cp -r "$E2E_STORE/machines/node1" "$E2E_STORE/machines/$name"
  python3 - "$E2E_STORE/machines/$name/config.json" "$name" <<'PY'
import json, sys
path, name = sys.argv[1:]
doc = json.load(open(path))
doc["Name"] = name
doc["Driver"]["MachineName"] = name
json.dump(doc, open(path, "w"), indent=4)
PY
done
rm -rf "$E2E_STORE/machines/node1"
mkdir -p "$E2E_STORE/clusters/prod"
echo '{"Name":"prod","Nodes":[]}' >"$E2E_STORE/clusters/prod/cluster.json"

dm completion bash >"$bin/dmachine.bash" 2>"$bin/err"
check_eq "completion bash exits 0 and prints nothing on stderr" "" "$(cat "$bin/err")"

# complete_words WORD...: COMPREPLY (sorted, one line) for the line "WORD..." with
# the cursor at the end of the last word.
complete_words() {
  bash --norc --noprofile -c '
    source "$1"; shift
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
    COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
    _dmachine dmachine "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " " | sed "s/ $//"
  ' _ "$bin/dmachine.bash" "$@"
}

check_eq "dmachine st<TAB>" "start status stop" "$(complete_words dmachine st)"
started=$(date +%s%N)
check_eq "dmachine ssh <TAB>: the store's machines" "web-a web-b" "$(complete_words dmachine ssh '')"
took_ms=$(( ($(date +%s%N) - started) / 1000000 ))
log "ssh <TAB> took ${took_ms} ms"
[ "$took_ms" -lt 2000 ] && pass "machine names without contacting a machine (${took_ms} ms)" ||
  failed "machine names took ${took_ms} ms: was a machine contacted?"
check_eq "dmachine rm web-a <TAB>: more machines" "web-a web-b" "$(complete_words dmachine rm web-a '')"
check_eq "dmachine -s STORE ssh w<TAB>" "web-a web-b" \
  "$(MACHINE_STORAGE_PATH=/nonexistent complete_words dmachine -s "$E2E_STORE" ssh w)"
local_flags=$(complete_words dmachine create --driver local --local-)
check_contains "create --driver local --local-<TAB>" "--local-cpus" "$local_flags"
expected_local=$(dm create --driver local --help | grep -o -- '--local-[a-z-]*' | sort -u | tr '\n' ' ' | sed 's/ $//')
check_eq "create --driver local --local-<TAB>: every local flag --help lists" "$expected_local" "$local_flags"
check_eq "create --driver local --generic-<TAB>: no other driver's flags" "" \
  "$(complete_words dmachine create --driver local --generic-)"
# Every driver of the table, in the table's sorted order, and nothing else.
check_eq "create --driver <TAB>: driver names" \
  "$("$DMACHINE" create --help | sed -n 's/^  \([a-z0-9]*\)  .*/\1/p' | grep . | sort | tr '\n' ' ' | sed 's/ $//')" \
  "$(complete_words dmachine create --driver '')"
check_contains "env --shell <TAB>: shells" "fish" "$(complete_words dmachine env --shell f)"
check_eq "cluster <TAB> st: subcommands" "status" "$(complete_words dmachine cluster st)"
check_eq "cluster status <TAB>: cluster names" "prod" "$(complete_words dmachine cluster status '')"
check_eq "completion <TAB>" "bash fish zsh" "$(complete_words dmachine completion '')"
check_contains "create --<TAB>: create's own flags" "--docker-context" "$(complete_words dmachine create --)"
check_contains "dmachine --<TAB>: global flags" "--storage-path" "$(complete_words dmachine --)"
check_eq "help cr<TAB>" "create" "$(complete_words dmachine help cr)"

# The installed way: bash-completion loads the file by name from completions/.
if [ -f /usr/share/bash-completion/bash_completion ]; then
  out=$(bash --norc --noprofile -c '
    source /usr/share/bash-completion/bash_completion
    source "$1"
    COMP_WORDS=(dmachine st); COMP_CWORD=1; _dmachine dmachine st dmachine
    echo "${COMPREPLY[*]}"' _ "$bin/dmachine.bash" 2>&1)
  check_eq "with bash-completion loaded too" "start status stop" "$(tr ' ' '\n' <<<"$out" | sort | tr '\n' ' ' | sed 's/ $//')"
fi

if command -v zsh >/dev/null; then
  dm completion zsh >"$bin/_dmachine"
  check_exit "zsh loads the completion" 0 zsh -f -c "autoload -U compinit && compinit -u -D && source '$bin/_dmachine'"
  out=$(zsh -f -c "autoload -U compinit && compinit -u -D && source '$bin/_dmachine' &&
    COMP_WORDS=(dmachine st); COMP_CWORD=1; _dmachine; print -l \${COMPREPLY[@]}" 2>&1 | sort | tr '\n' ' ' | sed 's/ $//')
  # bashcompinit's compgen leaves the prefix match to zsh's own matcher.
  check_contains "zsh: dmachine st<TAB> offers start status stop" "start status stop" "$out"
else
  log "zsh is not installed: its script is not loaded (apt-get install zsh)"
fi
if command -v fish >/dev/null; then
  dm completion fish >"$bin/dmachine.fish"
  check_exit "fish loads the completion" 0 fish --no-config -c "source '$bin/dmachine.fish'"
  out=$(fish --no-config -c "source '$bin/dmachine.fish'; complete -C 'dmachine st'" 2>&1 | cut -f1 | sort | tr '\n' ' ' | sed 's/ $//')
  check_eq "fish: dmachine st<TAB>" "start status stop" "$out"
  out=$(fish --no-config -c "source '$bin/dmachine.fish'; complete -C 'dmachine ssh '" 2>&1 | cut -f1 | sort | tr '\n' ' ' | sed 's/ $//')
  check_eq "fish: dmachine ssh <TAB>" "web-a web-b" "$out"
else
  log "fish is not installed: its script is not loaded (apt-get install fish)"
fi
check_exit "completion of an unknown shell fails" 1 dm completion tcsh
e2e_finish
