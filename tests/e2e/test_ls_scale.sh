#!/usr/bin/env bash
# ls at scale (issue 9 C): 30 generic records of one real machine, 10 at
# addresses of our own subnet that nothing answers, and the machine itself.
# Every reachable row is Running with its DOCKER version (sshd's MaxStartups must
# not turn rows into errors), unanswering rows are Timeout with the reason,
# `ls` is bounded, and `ls -q` reads the store alone: no TCP connection at all.
source "$(dirname "$0")/lib.sh"
e2e_init
source "$DM_SOURCE_DIR/tests/e2e/ls_store.sh"
command -v jq >/dev/null || skip "needs jq to copy machine records"
COPIES=30
SILENT=10

ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

check_exit "create the machine" 0 dm create -d local orig
ip=$(dm ip orig)
S=$MACHINE_STORAGE_PATH
check_exit "create a generic record of it" 0 dm create -d generic --generic-ip-address "$ip" \
  --generic-ssh-key "$S/machines/orig/id_rsa" g00
check_exit "copy the record $COPIES + $SILENT times" 0 ls_make_store g00 "$COPIES" "$SILENT"

# Every SYN this computer sends into our subnet, counted in a chain of our own.
CHAIN="DMLS$$"
iptables -w -N "$CHAIN"
iptables -w -I OUTPUT -j "$CHAIN"
iptables -w -A "$CHAIN" -p tcp -d "$LOCAL_SUBNET" --syn
e2e_on_exit 'iptables -w -D OUTPUT -j "$CHAIN"; iptables -w -F "$CHAIN"; iptables -w -X "$CHAIN"'
syns() { iptables -w -L "$CHAIN" -v -x -n | awk 'NR == 3 {print $1}'; }

log "ls over $((COPIES + SILENT + 1)) records"
t0=$(date +%s%N)
out=$(dm ls --format '{{.Name}} {{.State}} {{.DockerVersion}} {{.Error}}' 2>&1)
took=$(ms_since "$t0")
log "ls took $took ms"
check_eq "ls lists every record" "$((COPIES + SILENT + 1))" "$(printf '%s\n' "$out" | wc -l)"
not_running=$(printf '%s\n' "$out" | awk '$1 !~ /^u[0-9]/ && !($2 == "Running" && $3 ~ /^v[0-9]/)')
check_eq "every reachable row is Running with a DOCKER version" "" "$not_running"
not_timeout=$(printf '%s\n' "$out" | awk '$1 ~ /^u[0-9]/ && $2 != "Timeout"')
check_eq "every unanswering row is Timeout" "" "$not_timeout"
# Silence ("did not answer within 2 s") or, once ARP gave up, "host unreachable".
check_contains "a Timeout row says why" "u01 Timeout Unknown SSH port $(ls_unanswering_ip 1):22" "$out"
[ "$took" -lt 5000 ] && pass "ls takes under 5 s ($took ms)" || failed "ls takes under 5 s ($took ms)"

row=$(dm ls | awk '$1 == "g07" {print $2, $3, $4, $5, substr($6, 1, 2)}')
check_eq "the table shows a reachable row" "- generic Running tcp://$ip:2376 v2" "$row"

# ls -q and store-only filters and formats: no connection, and fast.
before=$(syns)
best=999999
for _ in 1 2 3 4 5; do
  t0=$(date +%s%N)
  dm ls -q >/dev/null
  took=$(ms_since "$t0")
  [ "$took" -lt "$best" ] && best=$took
done
names=$(dm ls -q --filter name='^g0' --filter driver=generic)
dm ls --format '{{.Name}} {{.DriverName}}' >/dev/null
check_eq "ls -q, name/driver filters and a Name format open no connection" "$before" "$(syns)"
check_eq "ls -q --filter name=^g0 --filter driver=generic" "g00 g01 g02 g03 g04 g05 g06 g07 g08 g09" "$(echo $names)"
[ "$best" -lt 100 ] && pass "ls -q takes under 100 ms (best of 5: $best ms)" ||
  failed "ls -q takes under 100 ms (best of 5: $best ms)"
check_eq "ls -q --filter state=Timeout asks the machines" "$SILENT" "$(dm ls -q --filter state=Timeout | wc -l)"

# status uses the same cheap check: one connection, no SSH session.
before=$(syns)
check_eq "status of a reachable copy" "Running" "$(dm status g05 2>&1)"
check_eq "status opened one connection (the engine's)" "$((before + 1))" "$(syns)"
t0=$(date +%s%N)
check_eq "status of an unanswering copy" "Timeout" "$(dm status u02 2>/dev/null)"
took=$(ms_since "$t0")
[ "$took" -lt 4000 ] && pass "status of an unanswering copy is bounded ($took ms)" ||
  failed "status of an unanswering copy is bounded ($took ms)"

# -t bounds the whole command.
t0=$(date +%s%N)
dm ls -t 1 >/dev/null 2>&1
took=$(ms_since "$t0")
[ "$took" -lt 2500 ] && pass "ls -t 1 ends within about a second ($took ms)" ||
  failed "ls -t 1 ends within about a second ($took ms)"

e2e_finish
