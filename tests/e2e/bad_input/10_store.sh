# Bad input: the store, machine records, names, create flags, templates, env and
# the first lines of commands. Sourced by test_bad_input.sh (run1 runs, stop1 is stopped).
# `bad` runs its command through timeout(1), which cannot call the dm() function: the
# cases call "$DMACHINE" itself.

# exactly_one_line DESCRIPTION EXPECTED_EXIT EXPECTED_LINE CMD...: the command's whole
# output (stdout and stderr) is that one line, and it exits with that code.
exactly_one_line() {
  local description=$1 expected_code=$2 line=$3
  shift 3
  local out code
  out=$(timeout 60 "$@" </dev/null 2>&1)
  code=$?
  check_eq "$description (exit)" "$expected_code" "$code"
  check_eq "$description (the only line)" "$line" "$out"
}

log "names: a host name has at most 63 characters and only 0-9a-zA-Z . -"
long_name=$(printf 'a%.0s' $(seq 64))
bad "a 64-character name" 1 "Invalid hostname specified. Allowed hostname chars are: 0-9a-zA-Z . -" \
  "$DMACHINE" create -d local "$long_name"
bad "a dotted name with a 64-character label" 1 "Invalid hostname specified" \
  "$DMACHINE" create -d local "a.$long_name"
bad "a name with shell code" 1 "Invalid hostname specified" "$DMACHINE" create -d local "x';id>f;'"
rm -f /tmp/dm-e2e-store-pwned
bad "a name with \$(...)" 1 "Invalid hostname specified" "$DMACHINE" create -d local '$(touch /tmp/dm-e2e-store-pwned)'
check_exit "the \$(...) in a name ran nowhere" 1 test -e /tmp/dm-e2e-store-pwned
exactly_one_line "create of an existing name" 1 'Docker machine "run1" already exists' \
  "$DMACHINE" create -d local run1
exactly_one_line "create of a 64-character name" 1 \
  "Error creating machine: Invalid hostname specified. Allowed hostname chars are: 0-9a-zA-Z . - (and a host name has at most 63 characters; this one has 64)" \
  "$DMACHINE" create -d local "$long_name"

# Lock files stay by design (a lock file another process holds must not be unlinked):
# made beforehand, so the fingerprint checks what a failed command could change.
keep_locks() { # STORE NAME...
  local store=$1
  shift
  mkdir -p -m 0700 "$store/.locks"
  for name in "$@"; do install -m 600 /dev/null "$store/.locks/machine-$name.lock"; done
}
keep_locks "$E2E_STORE" lm1 lc1 gp1

log "create flags: another driver's flags, bad driver values (exit 3), engine values"
bad "another driver's flag" 1 "flag provided but not defined: --local-memory" \
  "$DMACHINE" create -d generic --generic-ip-address 127.0.0.1 --local-memory 512 g1
bad "--local-memory not a number is a pre-create failure" 3 "--local-memory" \
  "$DMACHINE" create -d local --local-memory abc lm1
bad "--local-cpus not a number is a pre-create failure" 3 "--local-cpus" \
  "$DMACHINE" create -d local --local-cpus=x lc1
bad "--generic-ssh-port out of range is a pre-create failure" 3 "generic-ssh-port" \
  "$DMACHINE" create -d generic --generic-ip-address 127.0.0.1 --generic-ssh-port 99999 gp1
bad "--engine-env without =" 1 '--engine-env "NOEQ": expected NAME=VALUE' \
  "$DMACHINE" create -d local --engine-env NOEQ ee1
bad "--engine-label with a newline" 1 'has a newline' \
  "$DMACHINE" create -d local --engine-label $'a=b\nc' el1
bad "--engine-label without =" 1 '--engine-label "solo": expected key=value' \
  "$DMACHINE" create -d local --engine-label solo el2
bad "--engine-opt with a newline (a second ExecStart line)" 1 'has a newline' \
  "$DMACHINE" create -d local --engine-opt $'log-level=debug\nExecStartPre=/bin/id' eo1
bad "--engine-opt with a blank in the flag name" 1 '--engine-opt "log level=debug": expected flag=value' \
  "$DMACHINE" create -d local --engine-opt 'log level=debug' eo2
bad "--tls-san with a newline" 1 '--tls-san "a\nb"' "$DMACHINE" create -d local --tls-san $'a\nb' ts1
bad "--engine-insecure-registry with a blank" 1 'must be one word' \
  "$DMACHINE" create -d local --engine-insecure-registry 'a b' ir1
bad "--engine-install-url with a quote" 1 '--engine-install-url' \
  "$DMACHINE" create -d local --engine-install-url "https://x/';id;'" iu1

log "flags in docker-machine's words"
bad "unknown ls flag" 1 "flag provided but not defined: --frob" "$DMACHINE" ls --frob
bad "ls --timeout not a number" 1 'invalid value "x" for flag --timeout' "$DMACHINE" ls -t x
bad "env --shell without a value" 1 "flag needs an argument: --shell" "$DMACHINE" env run1 --shell
check_exit "a repeated flag takes the last value, as Go's flag package does" 0 "$DMACHINE" ls -q -t x -t 5
out=$("$DMACHINE" help create 2>&1)
check_contains "help create shows create's help" "Usage: dmachine create" "$out"
out=$("$DMACHINE" ls --help 2>&1)
check_contains "ls help names flags docker-machine's way" "--timeout, -t value" "$out"
case "$out" in *INT*|*TEXT*|*"At Most"*) failed "ls help has CLI11 type labels" ;; *) pass "ls help has no CLI11 type labels" ;; esac

log "templates"
bad "ls --format with an unclosed action" 1 "template:" "$DMACHINE" ls --format '{{.Name'
bad "ls --format {{" 1 "template:" "$DMACHINE" ls --format '{{'
bad "ls --format }}{{" 1 "template:" "$DMACHINE" ls --format '}}{{'
bad "ls --format with an unknown field" 1 \
  'template: ls:1:2: executing "ls" at <.Nope>: can'"'"'t evaluate field Nope in type commands.HostListItem' \
  "$DMACHINE" ls --format '{{.Nope}}'
bad "ls table format with an unknown field" 1 "can't evaluate field Nope" "$DMACHINE" ls --format 'table {{.Name}}\t{{.Nope}}'
bad "inspect -f with an unknown key" 1 'map has no entry for key "Nope"' "$DMACHINE" inspect -f '{{.Nope}}' run1
bad "inspect -f with an unclosed action" 1 "template:" "$DMACHINE" inspect -f '{{.Name' run1

log "env and the first lines of commands"
bad "env with an unknown shell" 1 'Unknown shell "nushell"' "$DMACHINE" env --shell nushell run1
bad "env -u with a name" 1 "Error: Expected no machine name when the -u flag is present" "$DMACHINE" env -u run1
missing='Docker machine "nosuch" does not exist. Use "dmachine ls" to list machines. Use "dmachine create" to add a new one.'
for command in ip url env config inspect status start stop restart kill; do
  exactly_one_line "$command of a missing machine" 1 "$missing" "$DMACHINE" "$command" nosuch
done
for command in url env config version; do
  exactly_one_line "$command of a stopped machine" 1 "Host is not running" "$DMACHINE" "$command" stop1
done
exactly_one_line "url with no name and no default" 1 \
  'Error: No machine name(s) specified and no "default" machine exists' "$DMACHINE" url
exactly_one_line "inspect of two names" 1 "Error: Expected one machine name as an argument" \
  "$DMACHINE" inspect run1 stop1

log "storage paths that are not a store"
store_file=$(mktemp /tmp/dm-e2e-store-file.XXXXXX)
bad "storage path is a file" 1 "not a directory" "$DMACHINE" -s "$store_file" ls
bad "storage path below a file" 1 "not a directory" "$DMACHINE" -s "$store_file/sub" ls
bad "machine command on a file store" 1 "not a directory" "$DMACHINE" -s "$store_file" ip run1
rm -f "$store_file"
if command -v runuser >/dev/null; then
  bad "a store the user cannot read" 1 "permission denied" \
    runuser -u nobody -- "$DMACHINE" -s "$E2E_STORE" ls
  bad "a machine in a store the user cannot read" 1 "permission denied" \
    runuser -u nobody -- "$DMACHINE" -s "$E2E_STORE" ip run1
else
  failed "runuser is missing: cannot check an unreadable store"
fi

log "corrupt and hostile records in a store of their own"
BAD_STORE=$(mktemp -d /tmp/dm-e2e-store-bad.XXXXXX)
mkdir -p "$BAD_STORE/machines" "$BAD_STORE/certs"
base="$E2E_STORE/machines/run1/config.json"
put_record() { # name jq-free python edit (a Python expression over doc) or raw text via stdin
  mkdir -p "$BAD_STORE/machines/$1"
  python3 - "$base" "$1" "$2" >"$BAD_STORE/machines/$1/config.json" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
doc["Name"] = sys.argv[2]
exec(sys.argv[3])
sys.stdout.write(json.dumps(doc, indent=4))
EOF
}
put_record badport 'doc["Driver"]["SSHPort"] = "x"'
put_record drvarr 'doc["Driver"] = []'
put_record hostopts 'doc["HostOptions"] = 5'
put_record memstr 'doc["Driver"]["Memory"] = "x"'
put_record evil 'doc["Name"] = "x'"'"';id>f;'"'"'"'
put_record evil2 'doc["Name"] = "$(touch /tmp/dm-e2e-store-pwned)"'
mkdir -p "$BAD_STORE/machines/trunc" "$BAD_STORE/machines/empty" "$BAD_STORE/machines/garbage"
head -c 200 "$base" >"$BAD_STORE/machines/trunc/config.json"
: >"$BAD_STORE/machines/empty/config.json"
head -c 300 /dev/urandom >"$BAD_STORE/machines/garbage/config.json"
bad_in_store() { E2E_STORE=$BAD_STORE bad "$@"; }
keep_locks "$BAD_STORE" badport drvarr hostopts memstr evil evil2 trunc empty garbage
bad_in_store "ip: SSHPort of the wrong type" 1 "Driver.SSHPort: expected integer" "$DMACHINE" -s "$BAD_STORE" ip badport
bad_in_store "inspect: Driver is an array" 1 "Driver: expected object" "$DMACHINE" -s "$BAD_STORE" inspect drvarr
bad_in_store "env: HostOptions is a number" 1 "HostOptions: expected object" "$DMACHINE" -s "$BAD_STORE" env hostopts
bad_in_store "url: a driver's own field of the wrong type" 1 "Driver.Memory: expected integer" \
  "$DMACHINE" -s "$BAD_STORE" url memstr
bad_in_store "status: truncated JSON" 1 "invalid JSON" "$DMACHINE" -s "$BAD_STORE" status trunc
bad_in_store "start: empty config.json" 1 "empty file" "$DMACHINE" -s "$BAD_STORE" start empty
bad_in_store "ssh: binary garbage" 1 "config.json" "$DMACHINE" -s "$BAD_STORE" ssh garbage -- true
bad_in_store "provision: Name is not the directory" 1 "does not match its directory \"evil\"" \
  "$DMACHINE" -s "$BAD_STORE" provision evil
bad_in_store "regenerate-certs: Name is not the directory" 1 "does not match its directory" \
  "$DMACHINE" -s "$BAD_STORE" regenerate-certs -f evil
bad_in_store "env: a Name with \$(...)" 1 "does not match its directory \"evil2\"" \
  "$DMACHINE" -s "$BAD_STORE" env evil2
bad_in_store "rm without -f of an unreadable record" 1 "use -f" "$DMACHINE" -s "$BAD_STORE" rm -y badport
check_exit "the \$(...) in a record's Name ran nowhere" 1 test -e /tmp/dm-e2e-store-pwned
out=$(timeout 60 "$DMACHINE" -s "$BAD_STORE" ls 2>&1)
code=$?
check_eq "ls of a store of bad records exits 0 (no abort)" 0 "$code"
for reason in "Driver.SSHPort: expected integer" "Driver: expected object" "HostOptions: expected object" \
  "Driver.Memory: expected integer" "invalid JSON" "empty file" "does not match its directory"; do
  check_contains "ls shows the reason: $reason" "$reason" "$out"
done
check_eq "every bad record is an Error row" 9 \
  "$(timeout 60 "$DMACHINE" -s "$BAD_STORE" ls --format '{{.State}}' | grep -cx Error)"
check_eq "no Error row has an empty ERRORS column" "" \
  "$(timeout 60 "$DMACHINE" -s "$BAD_STORE" ls --format '{{.Name}}={{.Error}}' | grep '=$')"
check_eq "ls -q lists them all" 9 "$(timeout 60 "$DMACHINE" -s "$BAD_STORE" ls -q | wc -l)"
check_exit "rm -f removes every bad record" 0 "$DMACHINE" -s "$BAD_STORE" rm -f badport drvarr hostopts memstr \
  evil evil2 trunc empty garbage
check_eq "nothing is left" "" "$(ls "$BAD_STORE/machines")"
rm -rf "$BAD_STORE"
