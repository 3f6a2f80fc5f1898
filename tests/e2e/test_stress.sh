#!/usr/bin/env bash
# e2e: 20 `dmachine create` processes at once (local driver, engine included, so
# the store-wide CA is raced for too) while 200 read-only calls run beside
# them; every create succeeds with its own IP and every record stays intact.
source "$(dirname "$0")/lib.sh"
e2e_init
command -v openssl >/dev/null || skip "openssl is missing (apt-get install openssl)"
S="$E2E_STORE"
work=$(mktemp -d)
e2e_on_exit 'rm -rf "$work"'
N=20
names=$(seq -f 'p%02g' 1 $N)

log "starting $N creates and 200 read-only calls at once"
t0=$(date +%s.%N)
for n in $names; do
  ("$DMACHINE" create -d local "$n" >"$work/$n.out" 2>"$work/$n.err"; echo $? >"$work/$n.code") &
done
reader() { # 25 calls each
  local i n
  for i in $(seq 25); do
    n=p$(printf '%02d' $(((RANDOM % N) + 1)))
    case $((i % 3)) in
    0) "$DMACHINE" ls -t 5 ;;
    1) "$DMACHINE" inspect "$n" ;;
    2) "$DMACHINE" ip "$n" ;;
    esac >/dev/null 2>>"$work/reader.err"
    echo $? >>"$work/reader.codes"
  done
}
for r in $(seq 8); do reader & done
wait
t1=$(date +%s.%N)
log "all done in $(echo "$t1 - $t0" | bc) s"

failed_creates=""
for n in $names; do
  [ "$(cat "$work/$n.code")" = 0 ] || failed_creates="$failed_creates $n($(tail -1 "$work/$n.err"))"
done
check_eq "all $N creates succeeded" "" "$failed_creates"
check_eq "200 read-only calls ran" "200" "$(wc -l <"$work/reader.codes")"
check_eq "read-only calls exit 0 or 1, never crash" "" "$(grep -vx '[01]' "$work/reader.codes" | sort -u | tr '\n' ' ')"
check_eq "no read saw a corrupt record or crashed" "" \
  "$(grep -iE 'internal error|parse|corrupt|truncat|sanitizer' "$work/reader.err" | head -3)"

ips=$(for n in $names; do dm ip "$n"; done)
check_eq "$N distinct IPs" "$N" "$(echo "$ips" | sort -u | grep -c .)"
bad=""
for n in $names; do
  python3 - "$S/machines/$n/config.json" "$n" <<'EOF' || bad="$bad $n"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["ConfigVersion"] == 3 and doc["Name"] == sys.argv[2] and doc["Driver"]["IPAddress"]
EOF
done
check_eq "every record is whole JSON with its own name and IP" "" "$bad"
check_eq "ls lists exactly the $N" "$(echo "$names")" "$(dm ls -q)"
check_eq "one CA in the store" "1" "$(grep -c 'BEGIN CERTIFICATE' "$S/certs/ca.pem")"
unsigned=""
for n in $names; do
  openssl verify -CAfile "$S/certs/ca.pem" "$S/machines/$n/server.pem" >/dev/null 2>&1 || unsigned="$unsigned $n"
done
check_eq "that CA signed every machine's server certificate" "" "$unsigned"
wrong=""
for n in p01 p07 p20; do
  [ "$(dm ssh "$n" -- hostname)" = "$n" ] || wrong="$wrong $n"
  [ "$(eval "$(dm env "$n")"; docker info --format '{{.Name}}' 2>/dev/null)" = "$n" ] || wrong="$wrong $n(docker)"
done
check_eq "machines answer over SSH and the docker client over TLS" "" "$wrong"

leftovers=$(for n in $names; do dm inspect -f '{{.Driver.Netns}} {{.Driver.Veth}}' "$n"; done)
# shellcheck disable=SC2086
check_exit "rm -y all $N" 0 dm rm -y $names
left=""
for x in $leftovers; do
  { ip netns list | grep -qw "$x" || ip link show "$x" >/dev/null 2>&1; } && left="$left $x"
done
check_eq "no netns or veth left" "" "$left"
check_eq "store is empty" "" "$(dm ls -q)"
e2e_finish
