#!/usr/bin/env bash
# e2e: the store is untrusted input. A record whose Name is not its directory
# (shell code, another machine's name) is an Error row that no command acts on;
# env values with quotes, $(...), backticks and newlines are evaluated by real
# bash, fish and tcsh without running anything; fields of the wrong type never
# abort; relative store paths are resolved to absolute, distinct stores.
source "$(dirname "$0")/lib.sh"
e2e_init
S="$E2E_STORE"
work=$(mktemp -d /tmp/dm-e2e-trust.XXXXXX)
chmod 755 "$work"
# Hostile characters in a store path: quotes, $(...), backticks, ! and blanks.
W="$work/st \"q'\$(touch $work/pwned-path)\`touch $work/pwned-tick\`!x  y"
cleanup_trust() {
  [ -d "$W/machines" ] && timeout 120 "$DMACHINE" -s "$W" rm -f -y $(ls "$W/machines") >/dev/null 2>&1
  [ -d "$work/a/rel/machines" ] && (cd "$work/a" && timeout 120 "$DMACHINE" -s rel rm -f -y r1 >/dev/null 2>&1)
  rm -rf "$work"
}
e2e_on_exit cleanup_trust

no_pwned() { # DESCRIPTION: nothing in $work or /tmp was made by injected code
  local made
  made=$(ls "$work" /tmp 2>/dev/null | grep -c '^pwned')
  check_eq "$1: nothing was executed" 0 "$made"
}

log "a host to point records at"
check_exit "create host1 (local, no engine)" 0 dm create -d local --no-provision host1
ip=$(dm ip host1)
host_config="$S/machines/host1/config.json"
host_sum=$(sha256sum <"$host_config")

log "A2: a record whose Name is not its directory"
put_named() { # DIR NAME: host1's record under DIR with Name NAME
  mkdir -p "$S/machines/$1"
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["Name"]=sys.argv[2]; print(json.dumps(d, indent=4))' \
    "$host_config" "$2" >"$S/machines/$1/config.json"
  cp "$S/machines/host1/id_rsa" "$S/machines/$1/id_rsa"
}
put_named evil "x';id>/root/f;'"
put_named evil2 "\$(touch /tmp/pwned-name)"
put_named evil3 host1
out=$(dm ls --format '{{.Name}}|{{.State}}|{{.Error}}')
check_contains "ls: evil is an Error row with the reason" \
  "evil|Error|record name \"x';id>/root/f;'\" does not match its directory \"evil\"" "$out"
check_contains "ls: evil3 is an Error row" 'evil3|Error|record name "host1" does not match its directory "evil3"' "$out"
check_contains "ls: host1 is untouched" "host1|Running|" "$out"
check_exit "provision evil is refused" 1 dm provision evil
check_exit "the shell code in Name did not run on the host" 1 dm ssh host1 -- test -e /root/f
check_exit "env evil2 is refused" 1 dm env evil2
(eval "$(dm env evil2 2>/dev/null)") 2>/dev/null
no_pwned "eval of env evil2"
check_exit "regenerate-certs evil3 is refused" 1 dm regenerate-certs -f evil3
check_exit "provision evil3 is refused" 1 dm provision evil3
check_eq "host1's record was not overwritten through evil3" "$host_sum" "$(sha256sum <"$host_config")"
check_exit "no certificates were written into host1's directory" 1 test -e "$S/machines/host1/server.pem"
check_exit "rm -f evil evil2 evil3" 0 dm rm -f evil evil2 evil3
check_eq "host1 still runs after rm -f of the impostors" "Running" "$(dm status host1)"
check_eq "only host1 is left" "host1" "$(dm ls -q)"

log "A6: fields of the wrong type never abort"
put_typed() { # DIR PYTHON-STATEMENT over d
  mkdir -p "$S/machines/$1"
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["Name"]=sys.argv[2]; exec(sys.argv[3]); print(json.dumps(d, indent=4))' \
    "$host_config" "$1" "$2" >"$S/machines/$1/config.json"
}
put_typed t1 'd["Driver"]["SSHPort"] = "x"'
put_typed t2 'd["Driver"] = []'
put_typed t3 'd["HostOptions"] = 5'
put_typed t4 'd["Driver"]["Bridge"] = {"a": 1}'
put_typed t5 'd["HostOptions"]["EngineOptions"]["Labels"] = "x"'
mkdir -p "$S/machines/t6" "$S/machines/t7"
head -c 100 "$host_config" >"$S/machines/t6/config.json"
printf '\x00\xff\xfe garbage' >"$S/machines/t7/config.json"
for format in "" "--format={{.Name}} {{.State}}" "--format=json"; do
  dm ls ${format:+"$format"} >/dev/null 2>"$work/ls.err"
  check_eq "ls ${format:-(table)} with bad records exits 0" 0 "$?"
done
check_eq "seven Error rows, each with its reason" 7 \
  "$(dm ls --format '{{.State}} {{.Error}}' | grep -c '^Error .')"
for t in t1 t2 t3 t4 t5 t6 t7; do
  out=$(dm ip "$t" 2>&1)
  code=$?
  check_eq "ip $t: a clear error, exit 1" 1 "$code"
  case "$out" in *"internal error"* | *terminate*) failed "ip $t: $out" ;; esac
done
check_exit "rm -f removes every unreadable record" 0 dm rm -f t1 t2 t3 t4 t5 t6 t7
check_eq "host1 survives rm -f of records copied from it" "Running" "$(dm status host1)"

log "A4: relative store paths are made absolute"
mkdir -p "$work/a" "$work/b"
(cd "$work/a" && "$DMACHINE" -s rel create -d local --no-provision r1) >"$work/rel.out" 2>&1
check_eq "create in a relative store" 0 "$?"
store_path=$(cd "$work/b" && "$DMACHINE" -s "$work/a/rel" inspect -f '{{.HostOptions.AuthOptions.StorePath}}' r1)
check_eq "the record's StorePath is absolute" "$work/a/rel/machines/r1" "$store_path"
check_eq "the driver's StorePath is absolute" "$work/a/rel" \
  "$("$DMACHINE" -s "$work/a/rel" inspect -f '{{.Driver.StorePath}}' r1)"
check_eq "the same relative path elsewhere is another store" "" "$(cd "$work/b" && "$DMACHINE" -s rel ls -q)"
check_exit "rm the machine of the relative store" 0 bash -c "cd '$work/a' && '$DMACHINE' -s rel rm -f r1"

log "A2: env values evaluated by real shells run nothing"
check_exit "create a generic machine in a store whose path has quotes, \$(...) and backticks" 0 \
  dm -s "$W" create -d generic --generic-ip-address "$ip" --generic-ssh-key "$S/machines/host1/id_rsa" gtrust
no_pwned "create in the hostile store path"
# NO_PROXY comes from the user's environment: hostile too, with a newline.
hostile_proxy=$'x"y\'z$(touch '"$work"$'/pwned-proxy)`touch '"$work"$'/pwned-proxy2`\\!w\nnext'
export DM W
DM="$DMACHINE"
expected_cert_path="$W/machines/gtrust"
for form in quoted unquoted; do
  if [ "$form" = quoted ]; then
    got=$(no_proxy="$hostile_proxy" bash -c 'eval "$("$DM" -s "$W" env --no-proxy gtrust)" && printf "%s|%s" "$DOCKER_CERT_PATH" "$NO_PROXY"')
    check_eq "bash eval \"\$(...)\" keeps the values byte for byte" "$expected_cert_path|$hostile_proxy,$ip" "$got"
  else
    got=$(no_proxy="$hostile_proxy" bash -c 'eval $("$DM" -s "$W" env --no-proxy gtrust) && printf "%s" "$DOCKER_MACHINE_NAME"')
    check_eq "bash eval \$(...) (docker-machine's hint) sets the variables" "gtrust" "$got"
  fi
  no_pwned "bash, $form"
done
got=$(no_proxy="$hostile_proxy" sh -c 'eval "$("$DM" -s "$W" env --shell sh --no-proxy gtrust)" && printf "%s" "$DOCKER_CERT_PATH"')
check_eq "sh (dash) keeps the store path" "$expected_cert_path" "$got"
no_pwned "sh"
if command -v fish >/dev/null; then
  got=$(no_proxy="$hostile_proxy" fish -c 'eval ($DM -s $W env --shell fish --no-proxy gtrust); printf "%s|%s" $DOCKER_CERT_PATH "$NO_PROXY"')
  # fish's eval (...) joins the lines of the output with blanks, as docker-machine's hint does.
  check_eq "fish eval (...) keeps the values" "$expected_cert_path|${hostile_proxy//$'\n'/ },$ip" "$got"
  no_pwned "fish"
else
  log "SKIP fish checks: fish is not installed (apt-get install fish)"
fi
if command -v tcsh >/dev/null; then
  got=$(tcsh -c 'eval `"$DM" -s "$W" env --shell tcsh gtrust`; printenv DOCKER_CERT_PATH' 2>/dev/null)
  # tcsh's eval `...` joins words with one blank: the two blanks of "x  y" become one.
  check_eq "tcsh eval \`...\` keeps the store path" "${expected_cert_path/x  y/x y}" "$got"
  no_pwned "tcsh"
  out=$(no_proxy="$hostile_proxy" "$DMACHINE" -s "$W" env --shell tcsh --no-proxy gtrust 2>&1)
  check_eq "tcsh cannot hold a newline: env refuses" 1 "$?"
  check_contains "and says which value" "NO_PROXY" "$out"
else
  log "SKIP tcsh checks: tcsh is not installed (apt-get install tcsh)"
fi
out=$(no_proxy='a&calc' "$DMACHINE" -s "$W" env --shell cmd --no-proxy gtrust 2>&1)
check_eq "cmd refuses a value with & (cmd would run it)" 1 "$?"
no_pwned "every shell"

e2e_finish
