#!/usr/bin/env bash
# Boots the VM test image under QEMU (TCG) with a NoCloud seed giving it a
# static IP on a private bridge, checks SSH, cloud-init and docker inside,
# stops it through QMP, boots the same disk again (same IP, same SSH host key)
# and removes everything it made, also on failure or Ctrl-C.
#
# Usage: boot_probe.sh [IMAGE_DIR]   (default: the output of build_test_image.sh)
# Environment: DMVM_MEMORY (MiB, default 1024), DMVM_CPUS (default 1),
#   DMVM_ACCEL (default tcg), DMVM_TB_SIZE (TCG code cache in MiB, default 256;
#   QEMU's own default is 1024, which costs that much resident memory), DMVM_SEED_IF (cdrom | virtio, default cdrom),
#   DMVM_SSH_TIMEOUT (s, default 600), DMVM_LOG_DIR (copy the serial logs there).
# Needs root: it makes bridge dmvmtest0 (10.213.250.1/24) and tap dmvmtest0t,
# with no NAT and iptables rules that drop anything leaving that bridge.
set -euo pipefail

here=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
k_bridge=dmvmtest0
k_tap=dmvmtest0t
k_host_ip=10.213.250.1
k_vm_ip=10.213.250.10
k_prefix=24
k_mac=52:54:00:d3:fa:0a
k_user=dmachine # not "docker": docker.io made that name a group, and useradd refuses it
k_comment=dmvmtest
k_stop_timeout=120
k_docker_timeout=300
memory=${DMVM_MEMORY:-1024}
cpus=${DMVM_CPUS:-1}
accel=${DMVM_ACCEL:-tcg}
tb_size=${DMVM_TB_SIZE:-256}
[ "$accel" != tcg ] || accel="tcg,tb-size=$tb_size"
seed_if=${DMVM_SEED_IF:-cdrom}
ssh_timeout=${DMVM_SSH_TIMEOUT:-600}

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }
now_ms() { date +%s%3N; }
seconds_since() { awk -v a="$1" -v b="$(now_ms)" 'BEGIN {printf "%.1f", (b - a) / 1000}'; }

[ "$(id -u)" -eq 0 ] || die "run as root (bridge, tap and iptables)"
for tool in qemu-system-x86_64 qemu-img xorriso ssh ssh-keygen iptables python3; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is missing"
done
case "$seed_if" in cdrom|virtio) ;; *) die "DMVM_SEED_IF must be cdrom or virtio" ;; esac

image_dir=${1:-$(bash "$here/build_test_image.sh")}
[ -s "$image_dir/disk.qcow2" ] || die "no disk.qcow2 in $image_dir"
ip link show "$k_bridge" >/dev/null 2>&1 && die "$k_bridge exists already (another probe running, or a leftover: ip link del $k_bridge)"
[ -z "$(ip -4 -o addr show to 10.213.250.0/24)" ] || die "10.213.250.0/24 is already in use on this computer"

tmp=$(mktemp -d /tmp/dmvmtest.XXXXXX)
made_bridge="" made_tap="" rules=()

qmp() { python3 "$here/qmp.py" "$tmp/qmp.sock" "$@"; }
qemu_pid() { cat "$tmp/qemu.pid" 2>/dev/null || true; }
# True while the QEMU this script started runs (pid file + our own overlay path).
qemu_alive() {
  local pid; pid=$(qemu_pid)
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$tmp/overlay.qcow2"
}
wait_qemu_gone() { # seconds
  local i
  for ((i = 0; i < $1 * 5; i++)); do qemu_alive || return 0; sleep 0.2; done
  return 1
}
kill_qemu() {
  qemu_alive || return 0
  qmp quit >/dev/null 2>&1 || true
  wait_qemu_gone 10 && return 0
  kill -TERM "$(qemu_pid)" 2>/dev/null || true
  wait_qemu_gone 5 && return 0
  kill -KILL "$(qemu_pid)" 2>/dev/null || true
  wait_qemu_gone 5
}

cleanup() {
  local rc=$? r
  trap - EXIT INT TERM
  kill_qemu || log "cleanup: QEMU $(qemu_pid) did not exit"
  if [ -n "${DMVM_LOG_DIR:-}" ]; then
    mkdir -p "$DMVM_LOG_DIR" && cp "$tmp"/console-*.log "$DMVM_LOG_DIR"/ 2>/dev/null || true
  fi
  for r in "${rules[@]}"; do
    # shellcheck disable=SC2086 # a rule is a list of words
    iptables -D $r 2>/dev/null || log "cleanup: iptables -D $r failed"
  done
  [ -z "$made_tap" ] || ip link del "$k_tap" 2>/dev/null || log "cleanup: tap $k_tap not removed"
  [ -z "$made_bridge" ] || ip link del "$k_bridge" 2>/dev/null || log "cleanup: bridge $k_bridge not removed"
  rm -rf "$tmp"
  log "cleaned up (exit $rc)"
  exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'exit 143' TERM

# --- network: a bridge of our own, no route out --------------------------------
ip link add "$k_bridge" type bridge && made_bridge=1
ip addr add "$k_host_ip/$k_prefix" dev "$k_bridge"
ip link set "$k_bridge" up
ip tuntap add dev "$k_tap" mode tap && made_tap=1
ip link set "$k_tap" master "$k_bridge"
ip link set "$k_tap" up
# This computer forwards packets (ip_forward=1 for other work); nothing from or
# to this bridge is forwarded, and the VM reaches only the bridge's address.
add_rule() { # chain words...
  local chain=$1; shift
  # shellcheck disable=SC2068
  iptables -I "$chain" $@ -m comment --comment "$k_comment" -j DROP
  rules+=("$chain $* -m comment --comment $k_comment -j DROP")
}
add_rule FORWARD -i "$k_bridge"
add_rule FORWARD -o "$k_bridge"
add_rule INPUT -i "$k_bridge" ! -d "$k_host_ip"

# --- seed and disk ----------------------------------------------------------------
ssh-keygen -q -t ed25519 -N '' -C dmvmtest -f "$tmp/id_ed25519"
mkdir "$tmp/seed"
cat >"$tmp/seed/meta-data" <<EOF
instance-id: dmvmtest-$(basename "$tmp" | cut -d. -f2)
local-hostname: dmvmtest
EOF
cat >"$tmp/seed/user-data" <<EOF
#cloud-config
users:
  - name: $k_user
    groups: [ sudo, docker ]
    shell: /bin/bash
    sudo: "ALL=(ALL) NOPASSWD:ALL"
    lock_passwd: true
    ssh_authorized_keys:
      - $(cat "$tmp/id_ed25519.pub")
ssh_pwauth: false
EOF
cat >"$tmp/seed/network-config" <<EOF
version: 2
ethernets:
  nic0:
    match:
      macaddress: "$k_mac"
    addresses: [ "$k_vm_ip/$k_prefix" ]
EOF
xorriso -as mkisofs -quiet -output "$tmp/seed.iso" -volid cidata -joliet -rock \
  "$tmp/seed/meta-data" "$tmp/seed/user-data" "$tmp/seed/network-config" 2>/dev/null
qemu-img create -q -f qcow2 -F qcow2 -b "$image_dir/disk.qcow2" "$tmp/overlay.qcow2"

if [ "$seed_if" = cdrom ]; then
  seed_drive=(-drive "file=$tmp/seed.iso,media=cdrom,if=ide,readonly=on")
else
  seed_drive=(-drive "file=$tmp/seed.iso,if=virtio,format=raw,readonly=on")
fi

launch() { # tag
  rm -f "$tmp/qemu.pid"
  qemu-system-x86_64 -name "dmvmtest,process=dmvmtest" -no-user-config -nodefaults \
    -machine pc -accel "$accel" -m "$memory" -smp "$cpus" \
    -drive "file=$tmp/overlay.qcow2,if=virtio,format=qcow2,discard=unmap" \
    "${seed_drive[@]}" \
    -netdev "tap,id=net0,ifname=$k_tap,script=no,downscript=no" \
    -device "virtio-net-pci,netdev=net0,mac=$k_mac" \
    -display none -serial "file:$tmp/console-$1.log" \
    -qmp "unix:$tmp/qmp.sock,server=on,wait=off" \
    -pidfile "$tmp/qemu.pid" -daemonize -no-shutdown
}

# Under TCG on a busy computer the guest answers slowly: generous, bounded timeouts.
ssh_base=(ssh -i "$tmp/id_ed25519" -o IdentitiesOnly=yes -o BatchMode=yes -o ConnectTimeout=30
  -o ServerAliveInterval=10 -o ServerAliveCountMax=6 -o UserKnownHostsFile="$tmp/known_hosts" -o LogLevel=ERROR)
vm() { timeout 300 "${ssh_base[@]}" -o StrictHostKeyChecking="$host_key_check" "$k_user@$k_vm_ip" "$@"; }
# For information only: a failure is shown, not fatal.
show() { # title command...
  local title=$1; shift
  echo "--- boot $tag: $title"
  vm "$@" || echo "(failed: exit $?)"
}

status_of() { qmp query-status 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["return"]["status"])' 2>/dev/null || echo "(no answer)"; }

show_console_tail() { log "last lines of the serial log:"; tail -n 25 "$tmp/console-$1.log" >&2 || true; }

boot_and_check() { # tag
  local tag=$1 t0 i
  t0=$(now_ms)
  launch "$tag" || die "qemu-system-x86_64 did not start"
  log "boot $tag: QEMU pid $(qemu_pid), QMP status: $(status_of)"
  for ((i = 0; ; i++)); do
    qemu_alive || { show_console_tail "$tag"; die "QEMU exited during boot $tag"; }
    if [ "$(( ($(now_ms) - t0) / 1000 ))" -ge "$ssh_timeout" ]; then
      show_console_tail "$tag"; die "no SSH on $k_vm_ip within $ssh_timeout s (boot $tag)"
    fi
    timeout 20 "${ssh_base[@]}" -o ConnectTimeout=5 -o StrictHostKeyChecking="$host_key_check" \
      "$k_user@$k_vm_ip" true 2>/dev/null && break
    sleep 2
  done
  t_ssh=$(seconds_since "$t0")
  log "boot $tag: SSH answers $t_ssh s after QEMU start"
  show "uname -a" uname -a
  show "cloud-init status" timeout 280 cloud-init status --wait --long
  t_ci=$(seconds_since "$t0")
  show "ip -4 addr" ip -4 -o addr
  show "ip route" ip route
  for ((i = 0; ; i++)); do
    state=$(vm systemctl is-active docker 2>/dev/null || true)
    [ "$state" = active ] && break
    [ "$(( ($(now_ms) - t0) / 1000 ))" -lt "$((ssh_timeout + k_docker_timeout))" ] ||
      die "docker not active (state: $state) in boot $tag"
    sleep 2
  done
  t_docker=$(seconds_since "$t0")
  echo "--- boot $tag: systemctl is-active docker"; echo "$state"
  # ssh joins its arguments into one remote shell line: quote for that shell.
  show "docker version" "sudo docker version --format '{{.Server.Version}} {{.Server.Os}}/{{.Server.Arch}}'"
  show "docker info" "sudo docker info --format 'driver={{.Driver}} cgroup={{.CgroupDriver}}/{{.CgroupVersion}} security={{.SecurityOptions}}'"
  show "cloud-init analyze blame" "sudo cloud-init analyze blame | head -n 14"
  show "free -m" free -m
  show "systemd-analyze" sh -c 'systemd-analyze time; systemd-analyze blame | head -n 15; systemd-analyze critical-chain ssh.service docker.service'
  show "networkctl" sh -c 'networkctl list; networkctl status ens2 2>/dev/null | head -n 20; ls /etc/systemd/network; cat /etc/systemd/network/*.network'
  show "wait-online" sudo journalctl -b -u systemd-networkd-wait-online --no-pager -o short-monotonic
  show "failed units" systemctl --failed --no-legend
  echo "--- boot $tag: QEMU resident memory on this computer: $(( $(ps -o rss= -p "$(qemu_pid)") / 1024 )) MiB"
  vm_ip_seen=$(vm ip -4 -o addr show scope global | awk '$2 != "docker0" {print $4}' | cut -d/ -f1 | tr '\n' ' ')
  printf '=== boot %s: SSH %s s, cloud-init done %s s, docker active %s s after QEMU start (-m %s, -smp %s, -accel %s)\n' \
    "$tag" "$t_ssh" "$t_ci" "$t_docker" "$memory" "$cpus" "$accel"
}

stop_vm() { # tag
  local tag=$1 t0 st last=""
  t0=$(now_ms)
  log "stop $tag: QMP status before: $(status_of); system_powerdown"
  qmp system_powerdown >/dev/null || log "system_powerdown failed"
  while :; do
    st=$(status_of)
    [ "$st" = "$last" ] || { log "stop $tag: QMP status: $st ($(seconds_since "$t0") s)"; last=$st; }
    [ "$st" = shutdown ] && break
    qemu_alive || break
    if [ "$(( ($(now_ms) - t0) / 1000 ))" -ge "$k_stop_timeout" ]; then
      log "stop $tag: no ACPI shutdown within $k_stop_timeout s; QMP quit"
      break
    fi
    sleep 1
  done
  t_stop=$(seconds_since "$t0")
  qmp quit >/dev/null 2>&1 || true
  wait_qemu_gone 10 || die "QEMU did not exit after quit"
  printf '=== stop %s: powered off in %s s (status %s), QEMU gone after quit\n' "$tag" "$t_stop" "$last"
}

log "image $image_dir, overlay $tmp/overlay.qcow2, seed $seed_if, -m $memory"
host_key_check=accept-new
boot_and_check 1
ip_first=$vm_ip_seen
cp "$tmp/known_hosts" "$tmp/known_hosts.first"
echo "--- host key (boot 1)"; ssh-keygen -lf "$tmp/known_hosts"
stop_vm 1

# Same overlay, same seed: the IP and the SSH host key must not change; the
# known_hosts of boot 1 is required as is (StrictHostKeyChecking=yes).
host_key_check=yes
boot_and_check 2
cmp -s "$tmp/known_hosts" "$tmp/known_hosts.first" || die "known_hosts changed"
[ "$vm_ip_seen" = "$ip_first" ] || die "IP changed across restart: '$ip_first' -> '$vm_ip_seen'"
[ "$vm_ip_seen" = "$k_vm_ip " ] || die "unexpected addresses: $vm_ip_seen"
echo "=== restart: same IP ($k_vm_ip) and same SSH host key"
stop_vm 2
echo "=== boot_probe: PASS"
