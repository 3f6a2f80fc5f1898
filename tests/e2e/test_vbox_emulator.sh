#!/usr/bin/env bash
# The VBoxManage emulator (tests/emulators/virtualbox): its fast tests (formats,
# errors, state rules, registry), then ONE real VM driven only through
# VBoxManage, as the virtualbox driver does: disk from the cached test image
# (convertfromraw + resize), createvm/modifyvm/storagectl/storageattach, a
# cloud-init seed on an IDE DVD, startvm, SSH over the NAT forward and over the
# host-only address, acpipowerbutton → poweroff, unregistervm --delete,
# hostonlyif remove, and nothing left. Exits 77 with the reason when it cannot
# run (not root, no qemu/xorriso/ssh, no test image).
# Host-only network 192.168.60.0/24 on bridge dmvbe0 (VBOXEMU_IF_PREFIX=dmvbe).
set -uo pipefail
: "${DM_SOURCE_DIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
E2E_NAME=test_vbox_emulator
here=$DM_SOURCE_DIR/tests/emulators/virtualbox
k_net=192.168.60
k_vm=dmvbe-e2e
k_user=dmachine
k_ssh_timeout=${VBOXEMU_SSH_TIMEOUT:-900} # TCG on 2 shared cores: 7 min to SSH was measured at load 10
k_stop_timeout=180

passed=0 failed=0
log() { printf '[%s] %s: %s\n' "$(date +%T)" "$E2E_NAME" "$*" >&2; }
skip() { echo "SKIP $E2E_NAME: $*" >&2; exit 77; }
ok() { passed=$((passed + 1)); echo "ok - $*"; }
bad() { failed=$((failed + 1)); echo "FAIL - $*"; }
check() { # description command...
  local d=$1; shift
  if "$@" >/tmp/vbe-e2e-last.out 2>&1; then ok "$d"; else bad "$d"; sed 's/^/  | /' /tmp/vbe-e2e-last.out | tail -15; fi
}

[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 is missing"
log "fast tests (no VM boot)"
if /usr/bin/python3 "$here/test_vboxmanage_emulator.py"; then ok "test_vboxmanage_emulator.py"; else bad "test_vboxmanage_emulator.py"; fi

[ "$(id -u)" -eq 0 ] || { echo "$E2E_NAME: $passed passed, $failed failed"; [ "$failed" -eq 0 ] || exit 1; skip "the real boot needs root (bridge, tap)"; }
for tool in qemu-system-x86_64 qemu-img xorriso ssh ssh-keygen iptables; do
  command -v "$tool" >/dev/null 2>&1 || { [ "$failed" -eq 0 ] || exit 1; skip "$tool is missing"; }
done
link_exists() { [ -e "/sys/class/net/$1" ]; }
link_exists dmvbe0 && { [ "$failed" -eq 0 ] || exit 1; skip "bridge dmvbe0 exists already (another run, or a leftover)"; }
[ -z "$(ip -4 -o addr show to $k_net.0/24)" ] || { [ "$failed" -eq 0 ] || exit 1; skip "$k_net.0/24 is in use on this computer"; }
image_dir=$(bash "$DM_SOURCE_DIR/tests/vm/build_test_image.sh" 2>/tmp/vbe-e2e-image.log) && [ -s "$image_dir/disk.raw" ] ||
  { [ "$failed" -eq 0 ] || exit 1; skip "no VM test image (tests/vm/build_test_image.sh failed: $(tail -1 /tmp/vbe-e2e-image.log))"; }

tmp=$(mktemp -d /tmp/vbe-e2e.XXXXXX)
export VBOXEMU_HOME=$tmp/home VBOXEMU_IF_PREFIX=dmvbe PATH=$here:$PATH
unset VBOXEMU_HOST_NET VBOXEMU_VTX
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -f "$VBOXEMU_HOME/registry.json" ]; then
    VBoxManage controlvm "$k_vm" poweroff >/dev/null 2>&1
    VBoxManage unregistervm "$k_vm" --delete >/dev/null 2>&1
    for i in $(VBoxManage list hostonlyifs 2>/dev/null | awk '/^Name:/ {print $2}'); do
      VBoxManage hostonlyif remove "$i" >/dev/null 2>&1
    done
    VBoxManage hostonlynet remove --name dmvbe-net >/dev/null 2>&1
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

vbm() { VBoxManage "$@"; }
mr() { vbm showvminfo "$k_vm" --machinereadable | sed -n "s/^$1=//p" | tr -d '"'; }

# --- VirtualBox 7 host-only network (a bridge too), then the host-only interface the VM uses
check "hostonlynet add (range given as the network address)" vbm hostonlynet add --name dmvbe-net \
  --netmask 255.255.255.0 --lower-ip $k_net.0 --upper-ip $k_net.0 --enable
check "its bridge dmvben0 has $k_net.1" sh -c "ip -4 -o addr show dev dmvben0 | grep -q ' $k_net.1/24 '"
check "list hostonlynets shows it" sh -c "VBoxManage list hostonlynets | grep -qx 'Name:            dmvbe-net'"
check "hostonlynet remove" vbm hostonlynet remove --name dmvbe-net
check "its bridge is gone" sh -c "! test -e /sys/class/net/dmvben0"

out=$(vbm hostonlyif create 2>/dev/null)
ifname=$(sed -n "s/^Interface '\(.*\)' was successfully created$/\1/p" <<<"$out")
check "hostonlyif create made $ifname" test "$ifname" = dmvbe0
check "the bridge exists" link_exists dmvbe0
check "ipconfig $k_net.1/24" vbm hostonlyif ipconfig dmvbe0 --ip $k_net.1 --netmask 255.255.255.0
check "the bridge has $k_net.1" sh -c "ip -4 -o addr show dev dmvbe0 | grep -q ' $k_net.1/24 '"

# --- disk, seed, VM ------------------------------------------------------------------
mkdir -p "$tmp/machines"
vmdir=$tmp/machines/$k_vm
check "convertfromraw the test image to VDI" vbm convertfromraw "$image_dir/disk.raw" "$tmp/disk.vdi" --format VDI
check "modifymedium --resize 4096" vbm modifymedium disk "$tmp/disk.vdi" --resize 4096
check "the VDI is 4096 MB" sh -c "qemu-img info --output=json '$tmp/disk.vdi' | grep -q '\"virtual-size\": 4294967296'"

ssh-keygen -q -t ed25519 -N '' -C vbe-e2e -f "$tmp/id"
mkdir "$tmp/seed"
mac1=080027E2E001 mac2=080027E2E002
colon() { sed 's/../&:/g; s/:$//' <<<"$1" | tr 'A-F' 'a-f'; }
cat >"$tmp/seed/meta-data" <<EOF
instance-id: vbe-e2e-$(basename "$tmp" | cut -d. -f2)
local-hostname: vbe-e2e
EOF
cat >"$tmp/seed/user-data" <<EOF
#cloud-config
users:
  - name: $k_user
    groups: [ sudo ]
    shell: /bin/bash
    sudo: "ALL=(ALL) NOPASSWD:ALL"
    lock_passwd: true
    ssh_authorized_keys: [ "$(cat "$tmp/id.pub")" ]
ssh_pwauth: false
EOF
cat >"$tmp/seed/network-config" <<EOF
version: 2
ethernets:
  nat:
    match: { macaddress: "$(colon $mac1)" }
    dhcp4: true
  hostonly:
    match: { macaddress: "$(colon $mac2)" }
    addresses: [ "$k_net.10/24" ]
EOF
xorriso -as mkisofs -quiet -output "$tmp/seed.iso" -volid cidata -joliet -rock \
  "$tmp/seed/meta-data" "$tmp/seed/user-data" "$tmp/seed/network-config" 2>/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

check "createvm --register" vbm createvm --name "$k_vm" --basefolder "$tmp/machines" --ostype Debian_64 --register
check "modifyvm (hardware)" vbm modifyvm "$k_vm" --firmware bios --memory 1024 --cpus 1 --acpi on --ioapic on \
  --rtcuseutc on --boot1 disk --boot2 dvd --boot3 none --boot4 none --natdnshostresolver1 off --natdnsproxy1 on
check "modifyvm (NAT NIC 1)" vbm modifyvm "$k_vm" --nic1 nat --nictype1 virtio --cableconnected1 on --macaddress1 $mac1
check "modifyvm --natpf1 ssh" vbm modifyvm "$k_vm" --natpf1 "ssh,tcp,127.0.0.1,$port,,22"
check "modifyvm (host-only NIC 2)" vbm modifyvm "$k_vm" --nic2 hostonly --nictype2 virtio --nicpromisc2 deny \
  --hostonlyadapter2 dmvbe0 --cableconnected2 on --macaddress2 $mac2
check "storagectl VirtIO" vbm storagectl "$k_vm" --name VirtIO --add virtio --hostiocache on
check "storagectl IDE" vbm storagectl "$k_vm" --name IDE --add ide
check "storageattach the disk" vbm storageattach "$k_vm" --storagectl VirtIO --port 0 --device 0 --type hdd --medium "$tmp/disk.vdi"
check "storageattach the seed" vbm storageattach "$k_vm" --storagectl IDE --port 1 --device 0 --type dvddrive --medium "$tmp/seed.iso"
check "Forwarding(0) shown" test "$(mr 'Forwarding(0)')" = "ssh,tcp,127.0.0.1,$port,,22"
check "hostonlyadapter2 shown" test "$(mr hostonlyadapter2)" = dmvbe0

t0=$SECONDS
out=$(vbm startvm "$k_vm" --type headless 2>&1)
check "startvm says it started" grep -qx "VM \"$k_vm\" has been successfully started." <<<"$out"
check "VMState running" test "$(mr VMState)" = running
qemu_pid=$(python3 -c 'import json, sys; print(next(iter(json.load(open(sys.argv[1]))["vms"].values()))["runtime"]["pid"])' "$VBOXEMU_HOME/registry.json")
check "QEMU runs (pid $qemu_pid)" test -e "/proc/$qemu_pid"
check "startvm again is refused (locked)" sh -c "VBoxManage startvm '$k_vm' --type headless 2>&1 | grep -q 'is already locked by a session'"
check "startvm again is refused" sh -c "VBoxManage startvm '$k_vm' --type headless; [ \$? -eq 1 ]"

sshopts=(-i "$tmp/id" -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=no
  -o UserKnownHostsFile="$tmp/known_hosts" -o LogLevel=ERROR -o ConnectTimeout=10)
ssh_up=""
while [ $((SECONDS - t0)) -lt "$k_ssh_timeout" ]; do
  [ "$(mr VMState)" = running ] || break
  if timeout 30 ssh "${sshopts[@]}" -p "$port" "$k_user@127.0.0.1" true 2>/dev/null; then ssh_up=1; break; fi
  sleep 3
done
if [ -n "$ssh_up" ]; then ok "SSH over the NAT forward 127.0.0.1:$port after $((SECONDS - t0)) s"; else
  bad "no SSH over 127.0.0.1:$port within $k_ssh_timeout s (VMState $(mr VMState))"
  tail -20 "$vmdir/Logs/console.log" 2>/dev/null | sed 's/^/  | /'
fi
if [ -n "$ssh_up" ]; then
  check "SSH over the host-only address $k_net.10" timeout 60 ssh "${sshopts[@]}" "$k_user@$k_net.10" true
  addrs=$(timeout 60 ssh "${sshopts[@]}" -p "$port" "$k_user@127.0.0.1" ip -4 -o addr show scope global 2>/dev/null)
  check "the guest has 10.0.2.15 (NAT, DHCP) and $k_net.10" sh -c "grep -q ' 10.0.2.15/24 ' <<'X'
$addrs
X
grep -q ' $k_net.10/24 ' <<'X'
$addrs
X"
  check "the guest cannot reach beyond the NAT (restrict=on)" sh -c "! timeout 60 ssh ${sshopts[*]} -p $port $k_user@127.0.0.1 'timeout 5 bash -c \"</dev/tcp/10.0.2.2/22\"'"
  check "guestproperty (no Guest Additions): No value set!" test "$(vbm guestproperty get "$k_vm" /VirtualBox/GuestInfo/Net/1/V4/IP)" = "No value set!"
fi

check "unregistervm while running is refused" sh -c "VBoxManage unregistervm '$k_vm' --delete 2>&1 | grep -q 'while it is locked'"
t1=$SECONDS
check "controlvm acpipowerbutton" vbm controlvm "$k_vm" acpipowerbutton
state=""
while [ $((SECONDS - t1)) -lt "$k_stop_timeout" ]; do
  state=$(mr VMState)
  [ "$state" = running ] || break
  sleep 2
done
check "VMState poweroff after the guest's ACPI shutdown ($((SECONDS - t1)) s)" test "$state" = poweroff
check "controlvm on a powered-off VM: not currently running" sh -c "VBoxManage controlvm '$k_vm' poweroff 2>&1 | grep -qx \"VBoxManage: error: Machine '$k_vm' is not currently running\""
check "unregistervm --delete" vbm unregistervm "$k_vm" --delete
check "hostonlyif remove" vbm hostonlyif remove dmvbe0

# --- nothing left --------------------------------------------------------------------
check "no registered VM" test -z "$(vbm list vms)"
check "no host-only interface" test -z "$(vbm list hostonlyifs)"
check "no bridge dmvbe0" sh -c "! test -e /sys/class/net/dmvbe0"
check "no host-only network" test -z "$(vbm list hostonlynets)"
check "no tap dmvbet*" sh -c "! ls /sys/class/net | grep -q '^dmvbet'"
check "no iptables rule" sh -c "! iptables -S | grep -q 'vboxemu:dmvbe'"
qemu_gone() { [ -n "$qemu_pid" ] && { [ ! -e "/proc/$qemu_pid" ] || ! grep -qF "vboxemu-" "/proc/$qemu_pid/cmdline"; }; }
check "no QEMU process of the VM (pid $qemu_pid)" qemu_gone
check "the disk is deleted" test ! -e "$tmp/disk.vdi"
check "the VM folder is gone" test ! -e "$vmdir"
check "no runtime directory" sh -c "[ -z \"\$(ls -A '$VBOXEMU_HOME/run' 2>/dev/null)\" ]"

echo "$E2E_NAME: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
