#!/usr/bin/env bash
# e2e: the local driver's network on this computer. A subnet that collides with an
# address or route of this computer, or with another bridge, is refused before anything
# is made (exit 3); a bridge dmachine did not make is adopted and survives the last
# machine, and only dmachine's own iptables rules (tagged, scoped to the subnet) go;
# rm + create of one name is fast (neighbour entry flushed); tampered network fields of
# a record make it an Error that rm -f forgets without touching anything outside the store.
source "$(dirname "$0")/lib.sh"
e2e_init
command -v iptables >/dev/null 2>&1 || skip "needs iptables"
command -v jq >/dev/null 2>&1 || skip "needs jq (to edit a record)"

B=$LOCAL_BRIDGE
S=$LOCAL_SUBNET
P=${S%0/24}
ADOPT=${B}a # a user's bridge
OTHER=${B}o # another bridge serving the same subnet
DUMMY=${B}d # an interface named like a tampered value
TNS=dmtest-${B}n
LEASES=/var/lib/dmachine/local

# Every iptables rule (nat POSTROUTING, filter FORWARD) tagged with dmachine:$1.
tagged_rules() {
  { iptables -w 30 -t nat -S POSTROUTING; iptables -w 30 -S FORWARD; } | grep -- "--comment \"\?dmachine:$1\"\?\( \|$\)"
}
link_state() { ip link show dev "$1" >/dev/null 2>&1 && echo present || echo absent; }
# True when a machine of any store on this computer still holds an IP lease.
other_leases() {
  cat "$LEASES"/*/leases 2>/dev/null | while read -r _ dir; do
    [ -d "$dir" ] && echo "$dir"
  done
}
# create's "wait for SSH" seconds, from its timestamped progress lines.
ssh_wait_seconds() { sed -n 's/.*wait for SSH and pin the host key: done (\([0-9.]*\)s).*/\1/p' <<<"$1"; }

cleanup_net() {
  for dev in "$ADOPT" "$OTHER" "$DUMMY"; do ip link del "$dev" 2>/dev/null; done
  ip netns del "$TNS" 2>/dev/null
  # The adopted bridge's lease directory, once no machine holds a lease there.
  [ -s "$LEASES/$ADOPT/leases" ] || rm -rf "${LEASES:?}/$ADOPT"
  # Rules a failed check may have left for the adopted bridge (whose machines are gone).
  tagged_rules "$ADOPT" | sed 's/^-A /-D /; s/"//g' | while read -r rule; do
    # shellcheck disable=SC2086
    iptables -w 30 -t "$(case $rule in *POSTROUTING*) echo nat ;; *) echo filter ;; esac)" $rule
  done
}
e2e_on_exit cleanup_net
cleanup_net

[ "$(link_state "$B")" = absent ] || log "note: bridge $B exists before the suite"
ipf_before=$(cat /proc/sys/net/ipv4/ip_forward)

log "A'3: a subnet overlapping an address or a route of this computer is refused"
ip link add "$DUMMY" type bridge
ip addr add "${P}7/24" dev "$DUMMY"
out=$(dm create -d local --no-provision ov1 2>&1)
check_eq "overlapping another interface's address: exit 3" 3 "$?"
check_contains "the error names the address and the interface" "overlaps ${P}7/24 on interface $DUMMY" "$out"
check_eq "nothing made: no bridge" absent "$(link_state "$B")"
check_eq "nothing made: no store entry" "" "$(ls "$E2E_STORE/machines")"
check_eq "nothing made: no lease" "" "$(grep -s ov1 "$LEASES/$B/leases")"
ip addr flush dev "$DUMMY"
ip link set "$DUMMY" up
ip route add "${P}128/25" dev "$DUMMY"
out=$(dm create -d local --no-provision ov2 2>&1)
check_eq "overlapping a route: exit 3" 3 "$?"
check_contains "the error names the route" "overlaps the route to ${P}128/25 via $DUMMY" "$out"
ip link del "$DUMMY"

log "A3: two bridges with the same subnet are refused"
ip link add "$OTHER" type bridge
ip link set "$OTHER" alias "dmachine $S"
ip addr add "${P}1/24" dev "$OTHER"
out=$(dm create -d local --no-provision tb1 2>&1)
check_eq "a subnet another dmachine bridge serves: exit 3" 3 "$?"
check_contains "the error names the other bridge" "already served by bridge $OTHER (made by dmachine)" "$out"
check_eq "nothing made: no bridge $B" absent "$(link_state "$B")"
ip link del "$OTHER"

log "A3: an adopted bridge (not made by dmachine) survives the last machine"
ip link add "$ADOPT" type bridge
ip addr add "${P}9/24" dev "$ADOPT"
out=$(dm create -d local --no-provision --local-bridge "$ADOPT" ad0 2>&1)
check_eq "a bridge whose address is inside the subnet: exit 3" 3 "$?"
check_contains "the error names the bridge's address" "bridge $ADOPT has the address ${P}9/24" "$out"
ip addr flush dev "$ADOPT"
check_exit "create on the adopted bridge" 0 dm create -d local --no-provision --local-bridge "$ADOPT" ad1
check_contains "dmachine added the gateway" "${P}1/24" "$(ip -4 -o addr show dev "$ADOPT")"
check_exit "this computer reaches the host on the adopted bridge" 0 dm ssh ad1 -- true
rules=$(tagged_rules "$ADOPT")
check_contains "A14: FORWARD accepts only the hosts' subnet from the bridge" "-A FORWARD -s $S -i $ADOPT " "$rules"
check_contains "A14: FORWARD accepts replies only to the hosts' subnet" "-A FORWARD -d $S -o $ADOPT " "$rules"
check_contains "MASQUERADE for the hosts' subnet, tagged" "-A POSTROUTING -s $S ! -o $ADOPT " "$rules"
check_eq "no FORWARD rule for the whole bridge" "" "$(iptables -w 30 -S FORWARD | grep -- "-i $ADOPT -j ACCEPT")"
check_exit "rm the last machine on the adopted bridge" 0 dm rm -y ad1
check_eq "the adopted bridge survives" present "$(link_state "$ADOPT")"
check_eq "the gateway address dmachine added is gone" "" "$(ip -4 -o addr show dev "$ADOPT")"
check_eq "dmachine's iptables rules for it are gone" "" "$(tagged_rules "$ADOPT")"
if [ "$ipf_before" = 0 ] && [ -z "$(other_leases)" ]; then
  check_eq "ip_forward is back to 0 (dmachine turned it on)" 0 "$(cat /proc/sys/net/ipv4/ip_forward)"
else
  log "ip_forward restore not checked: it was $ipf_before before, or other machines exist now"
fi
# A bridge that already has the gateway keeps it.
ip addr add "${P}1/24" dev "$ADOPT"
check_exit "create on an adopted bridge that has the gateway" 0 dm create -d local --no-provision --local-bridge "$ADOPT" ad2
check_exit "rm it" 0 dm rm -y ad2
check_contains "the user's own gateway address stays" "${P}1/24" "$(ip -4 -o addr show dev "$ADOPT")"
check_eq "the adopted bridge survives again" present "$(link_state "$ADOPT")"
ip link del "$ADOPT"

log "A'2: rm + create of one name reuses the IP and reaches SSH at once"
check_exit "create keep (holds the bridge)" 0 dm create -d local --no-provision keep
check_eq "dmachine marks the bridge it made" "dmachine $S" "$(cat "/sys/class/net/$B/ifalias")"
thresh=$(cat /proc/sys/net/ipv4/neigh/default/gc_thresh3)
[ "$thresh" -ge 65536 ] && pass "A'11: gc_thresh3 raised ($thresh)" || failed "A'11: gc_thresh3 is $thresh"
check_exit "create dev" 0 dm create -d local --no-provision dev
ip_dev=$(dm ip dev)
for round in 1 2; do
  dm ssh dev -- true # this computer's neighbour entry for dev is now REACHABLE
  dm ssh keep -- "bash -c 'echo > /dev/tcp/$ip_dev/22'" # and keep's
  check_exit "rm -f dev (round $round)" 0 dm rm -f dev
  check_eq "rm flushed the neighbour entry of $ip_dev" "" "$(ip neigh show to "$ip_dev" dev "$B")"
  out=$(dm create -d local --no-provision dev 2>&1)
  check_eq "create dev again (round $round)" 0 "$?"
  check_eq "dev gets the same IP again" "$ip_dev" "$(dm ip dev)"
  took=$(ssh_wait_seconds "$out")
  if [ -n "$took" ] && awk "BEGIN { exit !($took < 10) }"; then
    pass "wait for SSH took ${took}s (< 10 s)"
  else
    failed "wait for SSH took ${took:-?}s (expected < 10 s; 31-37 s with a stale neighbour entry)"
  fi
  check_exit "another host reaches the new dev within 5 s (round $round)" 0 \
    dm ssh keep -- "timeout 5 bash -c 'until echo > /dev/tcp/$ip_dev/22; do sleep 0.2; done'"
done

log "A2: tampered network fields: an Error row, and rm -f touches nothing outside the store"
check_exit "create t1" 0 dm create -d local --no-provision t1
t1_veth=$(dm inspect -f '{{.Driver.Veth}}' t1)
t1_netns=$(dm inspect -f '{{.Driver.Netns}}' t1)
ip link add "$DUMMY" type bridge
ip netns add "$TNS"
# tamper NAME JQ-EXPR: a copy of t1's record named NAME, edited by JQ-EXPR.
tamper() {
  cp -a "$E2E_STORE/machines/t1" "$E2E_STORE/machines/$1"
  jq --arg n "$1" ".Name = \$n | .Driver.MachineName = \$n | $2" "$E2E_STORE/machines/t1/config.json" \
    >"$E2E_STORE/machines/$1/config.json"
}
tamper tv ".Driver.Netns = \"\" | .Driver.Veth = \"$DUMMY\""
tamper tn ".Driver.Netns = \"$TNS\""
tamper tc "."                                     # a plain copy names t1's netns and veth
tamper tb ".Driver.Netns = \"\" | .Driver.Veth = \"\" | .Driver.Bridge = \"$DUMMY\""
tamper tl ".Driver.Netns = \"\" | .Driver.Veth = \"\""  # claims t1's bridge and IP
tamper tx ".Driver.Netns = \"\" | .Driver.Veth = \"\" | .Driver.Bridge = \"eth0 x\""
ls_out=$(dm ls)
check_contains "ls: a tampered Veth is an Error row saying why" "Driver.Veth \"$DUMMY\" is not this machine's veth" "$(grep '^tv ' <<<"$ls_out")"
check_contains "ls: a tampered Netns is an Error row" "Driver.Netns \"$TNS\"" "$(grep '^tn ' <<<"$ls_out")"
check_contains "ls: a copied record is an Error row" "Error" "$(grep '^tc ' <<<"$ls_out")"
check_contains "ls: a bridge that is no interface name is an Error row" "Driver.Bridge" "$(grep '^tx ' <<<"$ls_out")"
for name in tv tn tc tb tl tx; do
  check_exit "rm -f $name" 0 dm rm -f "$name"
done
check_eq "the interface named like the tampered Veth/Bridge exists" present "$(link_state "$DUMMY")"
check_eq "the netns named like the tampered Netns exists" "$TNS" "$(ip netns list | grep -o "^$TNS\b")"
check_eq "t1's veth exists" present "$(link_state "$t1_veth")"
check_eq "t1's netns exists" "$t1_netns" "$(ip netns list | grep -o "^$t1_netns\b")"
check_eq "t1 is still Running" Running "$(dm status t1)"
check_exit "t1 still answers over SSH" 0 dm ssh t1 -- true
check_contains "t1 keeps its lease" "$E2E_STORE/machines/t1" "$(cat "$LEASES/$B/leases")"
check_eq "no lease directory for the tampered bridge name" absent "$([ -e "$LEASES/$DUMMY" ] && echo present || echo absent)"
ip link del "$DUMMY"
ip netns del "$TNS"

log "the last machine takes the bridge it made and its rules with it"
check_exit "rm keep dev t1" 0 dm rm -y keep dev t1
check_eq "bridge $B made by dmachine is gone" absent "$(link_state "$B")"
check_eq "dmachine's iptables rules for $B are gone" "" "$(tagged_rules "$B")"

e2e_finish
