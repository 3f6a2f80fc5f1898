#!/bin/bash
# Manual smoke check of the local driver, driven through a tiny harness program
# (LDTEST, default /tmp/ldt/ldtest: `ldtest STORE NAME create|start|stop|kill|remove|state|ip
# [flag=value...]`, built from drivers/local plus core/). Needs root. Not part of ctest.
set -u
LDTEST=${LDTEST:-/tmp/ldt/ldtest}
S=${STORE:-/tmp/ldt/smoke-store}
CACHE=${CACHE:-/var/cache/dmachine/local}
OPTS="local-subnet=10.213.250.0/24 local-bridge=dmtsmoke local-cache-dir=$CACHE"
BR=dmtsmoke
failures=0
ok() { echo "ok   [${SECONDS}s] $*"; }
bad() { echo "FAIL [${SECONDS}s] $*"; failures=$((failures+1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
now() { date +%s.%N; }
no_link() { ! ip link show "$1" >/dev/null 2>&1; }
since() { echo "$(now) - $1" | bc; }

[ "$(id -u)" = 0 ] || { echo "needs root"; exit 77; }
[ -x "$LDTEST" ] || { echo "no harness at $LDTEST"; exit 77; }
rm -rf "$S"; mkdir -p "$S/machines"

key() { echo "$S/machines/$1/id_rsa"; }
ipof() { "$LDTEST" "$S" "$1" ip; }
sshm() { local m=$1; shift; ssh -i "$(key "$m")" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
  -o LogLevel=ERROR -o ConnectTimeout=2 -o BatchMode=yes root@"$(ipof "$m")" "$@"; }
wait_ssh() { local i; for i in $(seq 1 60); do sshm "$1" true 2>/dev/null && return 0; sleep 0.25; done; return 1; }
state() { "$LDTEST" "$S" "$1" state; }
newm() { mkdir -p "$S/machines/$1" && ssh-keygen -q -t rsa -N "" -f "$(key "$1")"; }

newm a; t=$(now)
"$LDTEST" "$S" a create $OPTS || { echo "create a failed"; exit 1; }
echo "create a: $(since "$t") s"
newm b; t=$(now)
"$LDTEST" "$S" b create $OPTS || { echo "create b failed"; exit 1; }
echo "create b (warm cache): $(since "$t") s"
check "a reaches ssh" wait_ssh a
echo "boot a->ssh ready after create returned (see above)"
check "b reaches ssh" wait_ssh b
echo "--- a:/etc/os-release"; sshm a 'head -3 /etc/os-release'
check "a PID 1 is systemd" [ "$(sshm a cat /proc/1/comm)" = systemd ]
check "a hostname is a" [ "$(sshm a hostname)" = a ]
check "b hostname is b" [ "$(sshm b hostname)" = b ]
check "a system running" [ "$(sshm a systemctl is-system-running)" = running ]
IPB=$(ipof b)
check "a reaches b:22 over the bridge" [ "$(sshm a "timeout 3 bash -c 'exec 3<>/dev/tcp/$IPB/22; head -c 4 <&3'")" = SSH- ]
check "a reaches the Debian mirror" sshm a 'curl -sfI -m 10 http://deb.debian.org/debian/ >/dev/null'
KA=$(sshm a cat /etc/ssh/ssh_host_ed25519_key.pub); KB=$(sshm b cat /etc/ssh/ssh_host_ed25519_key.pub)
check "host keys differ" [ -n "$KA" -a "$KA" != "$KB" ]
check "docker active in a" [ "$(sshm a systemctl is-active docker)" = active ]

sshm a 'echo kept > /root/marker; sync'
t=$(now); "$LDTEST" "$S" a stop; echo "stop a: $(since "$t") s"
check "a Stopped after stop" [ "$(state a)" = Stopped ]
t=$(now); "$LDTEST" "$S" a start; wait_ssh a; echo "start a -> ssh: $(since "$t") s"
check "a Running after start" [ "$(state a)" = Running ]
check "data kept across stop/start" [ "$(sshm a cat /root/marker)" = kept ]
check "host key kept across stop/start" [ "$(sshm a cat /etc/ssh/ssh_host_ed25519_key.pub)" = "$KA" ]

"$LDTEST" "$S" a kill
check "a Stopped after kill" [ "$(state a)" = Stopped ]
"$LDTEST" "$S" a start && wait_ssh a
check "a back after kill" [ "$(sshm a cat /root/marker)" = kept ]

# Simulated reboot of this computer: everything outside the store vanishes.
IDA=$(jq -r .Netns "$S/machines/a/driver.json"); IDA=${IDA#dm-}
IDB=$(jq -r .Netns "$S/machines/b/driver.json"); IDB=${IDB#dm-}
for m in a b; do kill -9 "$(cat "$S/machines/$m/local/pid")"; done
sleep 0.5
ip netns del "dm-$IDA"; ip netns del "dm-$IDB"; ip link del "dmv$IDA" 2>/dev/null; ip link del "dmv$IDB" 2>/dev/null; ip link del $BR
check "a Stopped after reboot" [ "$(state a)" = Stopped ]
check "b Stopped after reboot" [ "$(state b)" = Stopped ]
"$LDTEST" "$S" a start && "$LDTEST" "$S" b start && wait_ssh a && wait_ssh b
check "a back after reboot with data" [ "$(sshm a cat /root/marker)" = kept ]
check "a reaches b after reboot" [ "$(sshm a "timeout 3 bash -c 'exec 3<>/dev/tcp/$IPB/22; head -c 4 <&3'")" = SSH- ]

# Two creates in parallel processes get distinct IPs.
newm c; newm d
"$LDTEST" "$S" c create $OPTS local-memory=512 local-cpus=1 > "$S/c.log" 2>&1 & pc=$!
"$LDTEST" "$S" d create $OPTS > "$S/d.log" 2>&1 & pd=$!
wait $pc; rc=$?; wait $pd; rd=$?
check "parallel creates succeed" [ $rc = 0 -a $rd = 0 ]
echo "IPs: a=$(ipof a) b=$(ipof b) c=$(ipof c) d=$(ipof d)"
check "parallel IPs distinct" [ "$(printf '%s\n' "$(ipof a)" "$(ipof b)" "$(ipof c)" "$(ipof d)" | sort -u | wc -l)" = 4 ]

wait_ssh c
check "c memory limit 512 MB" [ "$(sshm c cat /sys/fs/cgroup/memory/memory.limit_in_bytes)" = 536870912 ]
check "c cpu quota 1 CPU" [ "$(sshm c cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us)" = 100000 ]
check "d no memory limit" [ "$(sshm d cat /sys/fs/cgroup/memory/memory.limit_in_bytes)" -gt 1000000000000 ]
IDS=""
for m in a b c d; do id=$(jq -r .Netns "$S/machines/$m/driver.json"); IDS="$IDS ${id#dm-}"; done
for m in a b c d; do "$LDTEST" "$S" "$m" remove || bad "remove $m"; done
for id in $IDS; do
  check "no netns dm-$id" [ ! -e "/run/netns/dm-$id" ]
  check "no veth dmv$id" no_link "dmv$id"
  check "no cgroup dirs for $id" [ -z "$(ls -d /sys/fs/cgroup/*/dmachine/$id 2>/dev/null)" ]
  left=$(for f in $(grep -l "/dmachine/$id" /proc/[0-9]*/cgroup 2>/dev/null); do
    p=${f%/cgroup}; grep -q '^State:.*Z' $p/status 2>/dev/null || echo $f; done)
  check "no processes (zombies aside) for $id" [ -z "$left" ]
  for f in $left; do p=${f%/cgroup}; echo "  left: $p $(tr '\0' ' ' < $p/cmdline) | $(grep dmachine $f | head -2 | tr '\n' ' ')"; done
done
check "no bridge $BR" no_link $BR
check "no mounts under the store" [ -z "$(grep "$S" /proc/self/mountinfo)" ]
check "no iptables rules" [ -z "$(iptables -S FORWARD | grep $BR; iptables -t nat -S POSTROUTING | grep 10.213.250.0)" ]
check "local dirs gone" [ ! -e "$S/machines/a/local" ]
echo "failures: $failures"
[ $failures = 0 ]
