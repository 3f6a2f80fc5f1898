#!/usr/bin/env bash
# e2e: the virtualbox driver against the VBoxManage emulator (tests/emulators/virtualbox,
# first on PATH), whose VMs are real QEMU VMs (TCG here). The test image is served on
# 127.0.0.1 with its SHA256SUMS. create -> ssh -> docker run of a local image -> stop ->
# start (same IP, same certs) -> restart -> kill -> rm: no registered VM, disk, forward, tap
# or QEMU left. Bad input: VBoxManage missing, VT-x absent, a CIDR outside VirtualBox's
# range, a disk smaller than the image; nothing left after each.
# Host-only network 192.168.58.1/24 on the emulator's bridge dmvbd0 (VBOXEMU_IF_PREFIX=dmvbd).
source "$(dirname "$0")/lib.sh"
e2e_init
emulator=$DM_SOURCE_DIR/tests/emulators/virtualbox
for tool in qemu-system-x86_64 qemu-img python3 docker busybox; do
  command -v "$tool" >/dev/null || skip "$tool is missing"
done
[ -e /sys/class/net/dmvbd0 ] && skip "bridge dmvbd0 exists already (another run, or a leftover)"
[ -z "$(ip -4 -o addr show to 192.168.58.0/24)" ] || skip "192.168.58.0/24 is in use on this computer"
source "$DM_SOURCE_DIR/tests/vm/serve_image.sh"
k_wait=600

log "building (or finding) the cached test image"
image_dir=$(bash "$DM_SOURCE_DIR/tests/vm/build_test_image.sh" 2>"$E2E_STORE.image.log") ||
  skip "the test image cannot be built: $(tail -3 "$E2E_STORE.image.log")"
rm -f "$E2E_STORE.image.log"
[ -s "$image_dir/disk.raw" ] || skip "no disk.raw in $image_dir"
work=$(mktemp -d /tmp/dm-e2e-vbox.XXXXXX)
export VBOXEMU_HOME=$work/vbox VBOXEMU_IF_PREFIX=dmvbd
unset VBOXEMU_HOST_NET VBOXEMU_VTX
export PATH="$emulator:$PATH"
# The driver keeps host-only interfaces (other VMs may use them): this suite removes its own.
remove_interfaces() {
  local i
  for i in $(VBoxManage list hostonlyifs 2>/dev/null | awk '/^Name:/ {print $2}'); do
    VBoxManage hostonlyif remove "$i" >/dev/null 2>&1
  done
}
e2e_on_exit 'serve_image_stop; timeout 300 "$DMACHINE" rm -f -y vb1 >/dev/null 2>&1; remove_interfaces; rm -rf "$work"'
serve_image_start "$image_dir" || skip "cannot serve the image on 127.0.0.1"
url="http://127.0.0.1:$SERVE_PORT"
log "serving $image_dir on $url"
base_flags=(--virtualbox-image "$url/disk.raw" --virtualbox-image-checksum "$url/SHA256SUMS"
  --virtualbox-hostonly-cidr 192.168.58.1/24 --virtualbox-memory 512)
# This computer's CPU shows no vmx/svm (nested): the check is off except where it is tested.
image_flags=("${base_flags[@]}" --virtualbox-no-vtx-check)

registered() { VBoxManage list vms 2>/dev/null | sed 's/ {.*//' | tr -d '"' | xargs; }
qemu_of() { pgrep -f -- "$VBOXEMU_HOME/run/" || true; }
taps() { ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | grep '^dmvbdt' | xargs; }
check_nothing_left() {
  local what=$1
  check_eq "$what: no machine" "" "$(dm ls -q)"
  check_eq "$what: no registered VM" "" "$(registered)"
  check_eq "$what: no QEMU process" "" "$(qemu_of)"
  check_eq "$what: no tap" "" "$(taps)"
  check_eq "$what: no disk" "" "$(find "$E2E_STORE/machines" -name '*.vdi' 2>/dev/null)"
}

log "bad input: each refused with a clear message, nothing left"
out=$(PATH=/usr/sbin:/usr/bin:/sbin:/bin dm create -d virtualbox "${image_flags[@]}" bad1 2>&1)
check_eq "VBoxManage missing: exit 3" "3" "$?"
check_contains "VBoxManage missing: says so" "VBoxManage not found" "$out"
check_nothing_left "VBoxManage missing"
out=$(dm create -d virtualbox "${base_flags[@]}" bad2 2>&1)
check_eq "no VT-x in this CPU: exit 3" "3" "$?"
check_contains "no VT-x: names the way out" "--virtualbox-no-vtx-check" "$out"
out=$(dm create -d virtualbox "${image_flags[@]}" --virtualbox-hostonly-cidr 192.168.99.1/24 bad3 2>&1)
check_eq "CIDR outside 192.168.56.0/21: exit 3" "3" "$?"
check_contains "names the allowed range" "192.168.56.0/21" "$out"
out=$(dm create -d virtualbox "${image_flags[@]}" --virtualbox-disk-size 1000 bad4 2>&1)
check_eq "disk smaller than the image: exit 3" "3" "$?"
check_contains "says the sizes" "1000 MB is smaller than the image" "$out"
check_nothing_left "bad input"

log "create vb1 from the served image (boot under TCG takes minutes)"
started=$SECONDS
check_exit "create -d virtualbox vb1" 0 dm create -d virtualbox "${image_flags[@]}" vb1
log "create took $((SECONDS - started)) s"
ip1=$(dm ip vb1)
check_eq "the static IP is the first host after the host-only interface's" "192.168.58.2" "$ip1"
check_eq "state Running" "Running" "$(dm status vb1)"
check_eq "VBoxManage says running" "running" "$(VBoxManage showvminfo vb1 --machinereadable | sed -n 's/^VMState="\(.*\)"/\1/p')"
check_contains "ssh vb1 -- uname -a" "Linux vb1" "$(dm ssh vb1 -- uname -a)"
port=$(VBoxManage showvminfo vb1 --machinereadable | sed -n 's/^Forwarding(0)="ssh,tcp,127.0.0.1,\([0-9]*\),,22"/\1/p')
check_exit "the NAT forward 127.0.0.1:$port answers SSH" 0 timeout 5 bash -c "</dev/tcp/127.0.0.1/$port"
mkdir -p "$work/root/bin"
cp "$(command -v busybox)" "$work/root/bin/busybox"
tar -C "$work/root" -cf "$work/bb.tar" .
check_exit "docker import of a local image" 0 bash -c "eval \"\$($DMACHINE env --shell bash vb1)\" && docker import $work/bb.tar local/bb:1"
check_eq "docker run of it" "hello from vb1" \
  "$(eval "$(dm env --shell bash vb1)"; docker run --rm local/bb:1 /bin/busybox echo hello from vb1 2>&1)"
cert_before=$(sha256sum "$E2E_STORE/machines/vb1/server.pem" 2>/dev/null)

check_exit "stop vb1" 0 dm stop vb1
check_eq "state Stopped" "Stopped" "$(dm status vb1)"
check_eq "stopped: no QEMU" "" "$(qemu_of)"
check_exit "start vb1" 0 dm start vb1
check_eq "same IP after start" "$ip1" "$(dm ip vb1)"
ok=""
for _ in $(seq 1 $((k_wait / 5))); do
  if (eval "$(dm env --shell bash vb1)"; docker --tlsverify info >/dev/null 2>&1); then ok=1; break; fi
  sleep 5
done
check_eq "docker --tlsverify info with the same certs after start" "1" "$ok"
check_eq "the server certificate was not remade" "$cert_before" "$(sha256sum "$E2E_STORE/machines/vb1/server.pem" 2>/dev/null)"
check_exit "restart vb1" 0 dm restart vb1
check_eq "Running after restart" "Running" "$(dm status vb1)"
check_exit "ssh after restart" 0 timeout $k_wait "$DMACHINE" ssh vb1 -- true
check_exit "kill vb1" 0 dm kill vb1
check_eq "killed: Stopped" "Stopped" "$(dm status vb1)"
check_eq "killed: no QEMU" "" "$(qemu_of)"
check_exit "rm vb1" 0 dm rm -y vb1
check_nothing_left "rm vb1"
check_eq "rm: machine dir gone" "no" "$([ -d "$E2E_STORE/machines/vb1" ] && echo yes || echo no)"
check_eq "rm: the host-only interface is kept" "dmvbd0" "$(VBoxManage list hostonlyifs | awk '/^Name:/ {print $2}' | xargs)"
check_eq "the base image stays cached" "1" "$(ls "$E2E_STORE/cache/images" | grep -c 'disk.raw$')"
e2e_finish
