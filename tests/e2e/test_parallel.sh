#!/usr/bin/env bash
# e2e: 20 `dmachine create -d local` processes started at once (engine
# provisioning included, so the store-wide CA creation is raced for too) while 8
# loops make 200 read-only calls (ls, inspect, ip) beside them. Every create
# succeeds with its own IP, no read crashes or sees a half-written record, every
# record is whole, one CA signed every server certificate, the machines answer
# over SSH and the Docker API over TLS, and rm -y leaves nothing behind.
#   DMACHINE=build/dmachine bash tests/e2e/test_parallel.sh
source "$(dirname "$0")/lib.sh"
e2e_init
command -v openssl >/dev/null || skip "openssl is missing"
command -v python3 >/dev/null || skip "python3 is missing"
S="$E2E_STORE"
work=$(mktemp -d /tmp/dm-e2e-parallel-work.XXXXXX)
trap 'rm -rf "$work"; e2e_cleanup' EXIT
N=${PARALLEL_CREATES:-20}
READERS=8
PER_READER=25 # 8 x 25 = 200 read-only calls
names=$(seq -f 'p%02g' 1 "$N")
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", b - a}'; }

log "starting $N creates (with engine) and $((READERS * PER_READER)) read-only calls at once"
t0=$(now)
for n in $names; do
  (
    s=$(now)
    timeout 600 "$DMACHINE" create -d local "$n" >"$work/$n.out" 2>"$work/$n.err"
    echo $? >"$work/$n.code"
    secs "$s" "$(now)" >"$work/$n.time"
  ) &
  cpids="${cpids:-} $!"
done
# Each reader: PER_READER calls, spaced so that they spread over the creates;
# each records "kind code during-creates" and keeps the call's output.
reader() {
  local r=$1 i n code during
  for i in $(seq "$PER_READER"); do
    n=p$(printf '%02d' $(((RANDOM % N) + 1)))
    during=1
    [ -e "$work/creates.done" ] && during=0
    case $(((i + r) % 3)) in
    0) kind=ls; timeout 120 "$DMACHINE" ls ;;
    1) kind=inspect; timeout 120 "$DMACHINE" inspect "$n" ;;
    2) kind=ip; timeout 120 "$DMACHINE" ip "$n" ;;
    esac >"$work/read.$r.$i.out" 2>"$work/read.$r.$i.err"
    code=$?
    echo "$kind $code $during $n" >"$work/read.$r.$i.code"
    sleep "0.$((RANDOM % 6))"
  done
}
rpids=""
for r in $(seq "$READERS"); do
  reader "$r" &
  rpids="$rpids $!"
done
# shellcheck disable=SC2086
wait $cpids
t1=$(now)
touch "$work/creates.done"
# shellcheck disable=SC2086
wait $rpids
log "the $N creates took $(secs "$t0" "$t1") s of wall time together"

failed_creates=""
for n in $names; do
  [ "$(cat "$work/$n.code" 2>/dev/null)" = 0 ] ||
    failed_creates="$failed_creates $n(exit $(cat "$work/$n.code" 2>/dev/null): $(grep -v '^\[' "$work/$n.err" | tail -1))"
done
check_eq "all $N creates exited 0" "" "$failed_creates"
check_eq "all $N create processes finished" "$N" "$(cat "$work"/p*.code 2>/dev/null | wc -l)"

# The read-only calls: exit 0 or 1 only (1: "does not exist", "not running"
# while the record is being made), no crash, no parse error; what succeeded is
# well-formed (inspect prints JSON, ip prints an IPv4 address).
cat "$work"/read.*.code >"$work/reads"
check_eq "$((READERS * PER_READER)) read-only calls ran" "$((READERS * PER_READER))" "$(wc -l <"$work/reads")"
check_eq "read-only calls exit 0 or 1 (no crash, no timeout)" "" \
  "$(awk '$2 > 1 {print $1 "=" $2}' "$work/reads" | sort | uniq -c | tr -s ' \n' ' ')"
check_eq "no read printed an internal or parse error" "" \
  "$(cat "$work"/read.*.err | grep -iE 'internal error|parse|corrupt|truncat|sanitizer|segmentation|terminate called|std::' | sort -u | head -3)"
check_eq "failed reads only say 'does not exist' or 'not running'-type things" "" \
  "$(cat "$work"/read.*.err | grep -v '^$' | grep -viE 'does not exist|not running|not found|no such|is stopped|Stopped|Starting|timeout|Error' | sort -u | head -3)"
badread=""
for f in "$work"/read.*.code; do
  read -r kind code _ n <"$f"
  [ "$code" = 0 ] || continue
  out=${f%.code}.out
  case $kind in
  inspect) python3 -m json.tool "$out" >/dev/null 2>&1 || badread="$badread inspect:$n" ;;
  ip) grep -qxE '([0-9]{1,3}\.){3}[0-9]{1,3}' "$out" || badread="$badread ip:$n($(head -c 40 "$out"))" ;;
  esac
done
check_eq "every successful inspect printed JSON and every ip an address" "" "$badread"
during=$(awk '$3 == 1' "$work/reads" | wc -l)
read -r ok_during <<<"$(awk '$3 == 1 && $2 == 0' "$work/reads" | wc -l)"
log "$during of $((READERS * PER_READER)) reads ran while creates were under way ($ok_during of them exit 0); by kind and exit: $(awk '{print $1 "=" $2}' "$work/reads" | sort | uniq -c | tr -s ' \n' ' ')"
[ "$during" -ge 100 ] && pass "at least half the reads overlapped the creates ($during)" ||
  failed "at least half the reads overlapped the creates (only $during)"

ips=$(for n in $names; do dm ip "$n"; done)
check_eq "$N distinct IPs" "$N" "$(echo "$ips" | sort -u | grep -cE '^[0-9.]+$')"

bad=""
for f in "$S"/machines/*/config.json; do
  n=$(basename "$(dirname "$f")")
  python3 -m json.tool "$f" >/dev/null 2>&1 || { bad="$bad $n(not JSON)"; continue; }
  python3 - "$f" "$n" <<'EOF' || bad="$bad $n(fields)"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["ConfigVersion"] == 3, doc.get("ConfigVersion")
assert doc["Name"] == sys.argv[2] and doc["Driver"]["MachineName"] == sys.argv[2]
assert doc["Driver"]["IPAddress"]
EOF
done
check_eq "every config.json is JSON with ConfigVersion 3, its own name and an IP" "" "$bad"
check_eq "the store holds exactly the $N records" "$(echo $names)" "$(ls "$S/machines" | tr '\n' ' ' | sed 's/ $//')"
check_eq "ls -q lists exactly the $N" "$(echo "$names")" "$(dm ls -q | sort)"
check_eq "ls shows all $N Running" "$N" "$(dm ls --filter state=Running -q | wc -l)"

wrong=""
for n in $names; do
  h=$(timeout 60 "$DMACHINE" ssh "$n" -- hostname 2>&1)
  [ "$h" = "$n" ] || wrong="$wrong $n($h)"
done
check_eq "every machine answers 'ssh -- hostname' with its own name" "" "$wrong"

check_eq "one CA certificate in the store" "1" "$(grep -c 'BEGIN CERTIFICATE' "$S/certs/ca.pem")"
unsigned=""
for n in $names; do
  openssl verify -CAfile "$S/certs/ca.pem" "$S/machines/$n/server.pem" >/dev/null 2>&1 || unsigned="$unsigned $n"
  cmp -s "$S/certs/ca.pem" "$S/machines/$n/ca.pem" || unsigned="$unsigned $n(ca.pem differs)"
done
check_eq "that CA signed every machine's server.pem (and each machine dir has it)" "" "$unsigned"
openssl verify -CAfile "$S/certs/ca.pem" "$S/certs/cert.pem" >/dev/null 2>&1 &&
  pass "the client cert.pem is signed by the same CA" || failed "the client cert.pem is signed by the same CA"

bad=""
for n in p01 p10 p$N; do
  v=$(eval "$(dm env "$n")" && timeout 60 docker --tlsverify version --format '{{.Server.Version}}' 2>&1)
  [ -n "$v" ] && [[ "$v" =~ ^[0-9]+\.[0-9.]+ ]] || bad="$bad $n($v)"
  name=$(eval "$(dm env "$n")" && timeout 60 docker --tlsverify info --format '{{.Name}}' 2>&1)
  [ "$name" = "$n" ] || bad="$bad $n(info: $name)"
done
check_eq "docker --tlsverify version/info work via 'eval \$(dm env pNN)' on 3 machines" "" "$bad"

log "removing all $N"
leftovers=$(for n in $names; do dm inspect -f '{{.Driver.Netns}} {{.Driver.Veth}}' "$n"; done)
check_eq "each machine has a netns and a veth" "$((2 * N))" "$(echo $leftovers | wc -w)"
t2=$(now)
# shellcheck disable=SC2086
check_exit "rm -y all $N" 0 timeout 600 "$DMACHINE" rm -y $names
log "rm -y of $N took $(secs "$t2" "$(now)") s"
left=""
for x in $leftovers; do
  { ip netns list | grep -qw "$x" || ip link show "$x" >/dev/null 2>&1; } && left="$left $x"
done
check_eq "no netns or veth left" "" "$left"
check_eq "ls -q is empty" "" "$(dm ls -q)"
check_eq "no record directory left" "" "$(ls "$S/machines" 2>/dev/null)"

times=$(cat "$work"/p*.time | sort -n)
echo "timings: $N parallel creates (with engine) in $(secs "$t0" "$t1") s wall;" \
  "per create min $(echo "$times" | head -1) s, median $(echo "$times" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}') s, max $(echo "$times" | tail -1) s" \
  "($(nproc) cores)"
e2e_finish
