#!/usr/bin/env bash
# e2e: two real local machines through their whole life: ssh, scp between them,
# stop/start/restart/kill/rm with ls and status, a changed host key, ls output
# options, and docker-machine's error texts.
source "$(dirname "$0")/lib.sh"
e2e_init

log "creating m1 and m2 (no engine provisioning)"
check_exit "create m1" 0 dm create -d local --no-provision m1
check_exit "create m2" 0 dm create -d local --no-provision m2

out=$(dm ssh m1 -- cat /etc/os-release)
check_contains "m1 runs Debian 12" 'VERSION_ID="12"' "$out"
check_exit "ssh -- false exits 1" 1 dm ssh m1 -- false
check_exit "ssh exits with the remote status" 7 dm ssh m1 -- 'exit 7'
check_eq "ssh keeps stdout and stderr apart" "out" "$(dm ssh m1 -- 'echo out; echo err >&2' 2>/dev/null)"
check_eq "ssh forwards stdin" "piped" "$(echo piped | dm ssh m1 -- cat)"
check_eq "hostname is the machine name" "m2" "$(dm ssh m2 -- hostname)"
check_eq "systemd is PID 1" "systemd" "$(dm ssh m1 -- cat /proc/1/comm)"

ip1=$(dm ip m1)
ip2=$(dm ip m2)
check_eq "ip matches the stored IPAddress" "$ip1" "$(dm inspect -f '{{.Driver.IPAddress}}' m1)"
[ "$ip1" != "$ip2" ] && pass "machines have distinct IPs" || failed "machines have distinct IPs ($ip1 $ip2)"
check_eq "ip prints one IP per line in argument order" "$ip2 $ip1" "$(dm ip m2 m1 | tr '\n' ' ' | sed 's/ $//')"
check_exit "m1 reaches m2 over the bridge" 0 dm ssh m1 -- "bash -c 'echo > /dev/tcp/$ip2/22'"

log "scp: this computer -> m1 -> m2 -> this computer"
work=$(mktemp -d)
head -c 3000000 /dev/urandom >"$work/blob"
mkdir -p "$work/tree/sub" && echo one >"$work/tree/a" && echo two >"$work/tree/sub/b"
check_exit "scp local -> m1" 0 dm scp "$work/blob" m1:/tmp/blob
check_exit "scp m1 -> m2 (through this computer)" 0 dm scp m1:/tmp/blob m2:/tmp/blob2
check_exit "scp m2 -> local" 0 dm scp m2:/tmp/blob2 "$work/back"
check_eq "bytes survive the round trip" "$(sha256sum <"$work/blob")" "$(sha256sum <"$work/back")"
check_eq "bytes on m2 match" "$(sha256sum <"$work/blob" | cut -d' ' -f1)" \
  "$(dm ssh m2 -- sha256sum /tmp/blob2 | cut -d' ' -f1)"
check_exit "scp -r a directory to m1" 0 dm scp -r "$work/tree" m1:/tmp/
check_eq "recursive copy keeps the tree" "two" "$(dm ssh m1 -- cat /tmp/tree/sub/b)"
check_exit "scp -r back from m1" 0 dm scp -r m1:/tmp/tree "$work/tree-back"
check_eq "recursive download keeps the tree" "one" "$(cat "$work/tree-back/a")"
rm -rf "$work"

log "lifecycle: stop, start, restart, kill"
dm ssh m1 -- touch /root/persisted
check_eq "status Running" "Running" "$(dm status m1)"
check_exit "stop m1" 0 dm stop m1
check_eq "status Stopped after stop" "Stopped" "$(dm status m1)"
check_contains "ls shows m1 Stopped" "Stopped" "$(dm ls --filter name=m1)"
check_contains "stopping a stopped machine says so" 'Machine "m1" is already stopped.' "$(dm stop m1)"
check_exit "start m1" 0 dm start m1
check_eq "status Running after start" "Running" "$(dm status m1)"
check_contains "starting a running machine says so" 'Machine "m1" is already running.' "$(dm start m1)"
check_exit "data survives stop/start" 0 dm ssh m1 -- test -f /root/persisted
check_exit "restart m1" 0 dm restart m1
check_eq "status Running after restart" "Running" "$(dm status m1)"
check_exit "kill m2" 0 dm kill m2
check_eq "status Stopped after kill" "Stopped" "$(dm status m2)"
check_exit "start m2 after kill" 0 dm start m2
check_eq "m2 Running again" "Running" "$(dm status m2)"

log "this computer reboots: the machine shows Stopped and starts again with its data"
pid=$(cat "$E2E_STORE/machines/m1/local/pid")
netns=$(dm inspect -f '{{.Driver.Netns}}' m1)
veth=$(dm inspect -f '{{.Driver.Veth}}' m1)
# What a reboot does: every process gone, network namespaces and links gone.
kill -9 "$pid"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
ip netns del "$netns" 2>/dev/null
ip link del "$veth" 2>/dev/null
check_eq "status Stopped after a reboot" "Stopped" "$(dm status m1)"
check_exit "start after a reboot" 0 dm start m1
check_exit "data survives the reboot" 0 dm ssh m1 -- test -f /root/persisted
check_eq "same IP after the reboot" "$ip1" "$(dm ip m1)"

log "Ctrl-C in the middle of create leaves nothing behind"
"$DMACHINE" create -d local --no-provision interrupted >/dev/null 2>&1 &
cpid=$!
sleep 0.7
kill -INT "$cpid"
wait "$cpid"
code=$?
[ "$code" -ne 0 ] && pass "interrupted create fails (exit $code)" || failed "interrupted create fails (exit 0)"
check_eq "no store entry left" "" "$(ls "$E2E_STORE/machines" | grep -x interrupted)"
check_eq "no process of it left" "0" "$(pgrep -fc "$E2E_STORE/machines/interrupted" || true)"
# The local driver names a host's namespace dm-<FNV-1a of its machine directory>.
interrupted_ns=dm-$(python3 -c 'import sys
h = 2166136261
for b in sys.argv[1].encode(): h = ((h ^ b) * 16777619) % 2**32
print("%08x" % h)' "$E2E_STORE/machines/interrupted")
check_eq "no network namespace of it left" "" "$(ip netns list | awk '{print $1}' | grep -x "$interrupted_ns")"
check_eq "no IP lease of it left" "0" \
  "$(grep -c "$E2E_STORE/machines/interrupted\$" "/var/lib/dmachine/local/$LOCAL_BRIDGE/leases" || true)"

log "a changed host key is refused"
dm ssh m2 -- 'rm -f /etc/ssh/ssh_host_* && ssh-keygen -A >/dev/null && systemctl restart ssh'
check_exit "ssh to a host whose key changed fails" 1 dm ssh m2 -- true
check_contains "and says the host key changed" "has changed" "$(dm ssh m2 -- true 2>&1)"

log "ls output options"
check_eq "ls -q" "m1
m2" "$(dm ls -q)"
check_eq "ls --filter name=" "m2" "$(dm ls -q --filter name=m2)"
check_eq "ls --filter driver=local" "m1
m2" "$(dm ls -q --filter driver=local)"
dm stop m2 >/dev/null
check_eq "ls --filter state=Stopped" "m2" "$(dm ls -q --filter state=Stopped)"
check_eq "same filter key ORs" "m1
m2" "$(dm ls -q --filter name=m1 --filter name=m2)"
check_eq "different filter keys AND" "" "$(dm ls -q --filter name=m1 --filter state=Stopped)"
check_eq "ls --format" "m1 local Running
m2 local Stopped" "$(dm ls --format '{{.Name}} {{.DriverName}} {{.State}}')"
check_eq "ls --format json: one object per line" "m1 Running
m2 Stopped" "$(dm ls --format json | python3 -c 'import json, sys
for line in sys.stdin: d = json.loads(line); print(d["Name"], d["State"])')"
check_eq "status --format json" '{"Name":"m1","DriverName":"local","State":"Running","Error":""}' \
  "$(dm status --format json m1)"
check_eq "status --format template" "m2 is Stopped" "$(dm status -f '{{.Name}} is {{.State}}' m2)"
check_contains "version --format json" '{"Name":"dmachine","Version":"' "$(dm version --format json)"
header=$(dm ls --format 'table {{.Name}}\t{{.State}}' | head -1)
check_contains "ls --format table prints a header" "NAME" "$header"
check_contains "ls table has the default columns" "NAME   ACTIVE   DRIVER   STATE" "$(dm ls | head -1)"

log "docker-machine error texts"
out=$(dm ip nosuch 2>&1)
check_eq "missing machine text" 'Docker machine "nosuch" does not exist. Use "dmachine ls" to list machines. Use "dmachine create" to add a new one.' "$out"
check_exit "missing machine exits 1" 1 dm ip nosuch
check_contains "create of an existing name" 'Docker machine "m1" already exists' "$(dm create -d local --no-provision m1 2>&1)"
check_contains "invalid name" "Invalid hostname specified. Allowed hostname chars are: 0-9a-zA-Z . -" \
  "$(dm create -d local --no-provision 'bad_name' 2>&1)"
check_eq "no name and no default" 'Error: No machine name(s) specified and no "default" machine exists' "$(dm status 2>&1)"
check_eq "two names where one is expected" "Error: Expected one machine name as an argument" "$(dm status m1 m2 2>&1)"
check_exit "unknown flag exits 1" 1 dm ls --no-such-flag
check_exit "create as non-root fails the pre-create check (exit 3)" 3 \
  setpriv --reuid=65534 --regid=65534 --clear-groups env MACHINE_STORAGE_PATH="$(d=$(mktemp -d); chmod 0777 "$d"; echo "$d")" "$DMACHINE" create -d local --no-provision nr

log "a corrupt record shows as Error without hiding the others"
mkdir -m 0700 "$E2E_STORE/machines/broken"
printf '{"ConfigVersion": 3, "Driver": {' >"$E2E_STORE/machines/broken/config.json"
out=$(dm ls)
check_contains "corrupt machine listed with Error" "broken" "$out"
check_contains "state Error" "Error" "$(dm ls --filter name=broken)"
check_contains "others still listed" "m1" "$out"
check_exit "rm -f removes a corrupt entry" 0 dm rm -f broken

log "rm frees everything"
leftovers=$(dm inspect -f '{{.Driver.Netns}} {{.Driver.Veth}}' m1; dm inspect -f '{{.Driver.Netns}} {{.Driver.Veth}}' m2)
check_exit "rm -y m1" 0 dm rm -y m1
check_contains "rm says so" "Successfully removed m2" "$(dm rm -y m2)"
check_eq "store is empty" "" "$(dm ls -q)"
[ "$(echo $leftovers | wc -w)" = 4 ] && pass "inspect names each machine's netns and veth" || failed "inspect names netns/veth ($leftovers)"
left=""
for n in $leftovers; do
  { ip netns list | grep -qw "$n" || ip link show "$n" >/dev/null 2>&1; } && left="$left $n"
done
check_eq "no namespace or veth left by m1/m2" "" "$left"
check_eq "no mounts left" "0" "$(grep -c "$E2E_STORE" /proc/self/mountinfo || true)"
check_eq "no processes left" "0" "$(pgrep -fc "$E2E_STORE" || true)"

e2e_finish
