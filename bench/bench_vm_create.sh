#!/usr/bin/env bash
# Figures of `dmachine create -d qemu` from the VM test image served on 127.0.0.1: the
# time split into image (download or cache hit), seed, disk, VM start, boot to SSH and
# provisioning, for a first create (image not cached) and a second (cached); the peak RSS
# of dmachine and of QEMU; the SSH sessions sshd accepted during create.
# Figures only: never fails on time. Needs root, qemu, the test image (built if missing).
#   DMACHINE=build/dmachine bash bench/bench_vm_create.sh
source "$(dirname "$0")/bench_lib.sh"
here=$(cd "$(dirname "$0")/.." && pwd)
source "$here/tests/vm/serve_image.sh"
command -v qemu-system-x86_64 >/dev/null || { echo "bench: qemu-system-x86_64 is missing" >&2; exit 1; }
export QEMU_NETWORK_CIDR=${QEMU_NETWORK_CIDR:-10.213.244.0/24} QEMU_MEMORY=${QEMU_MEMORY:-512}
image_dir=$(bash "$here/tests/vm/build_test_image.sh" 2>/dev/null) || { echo "bench: no test image" >&2; exit 1; }
serve_image_start "$image_dir" || { echo "bench: cannot serve the image" >&2; exit 1; }
trap 'serve_image_stop; bench_cleanup' EXIT
url="http://127.0.0.1:$SERVE_PORT"

# step_seconds LOG NAME: the duration of the plain progress line "NAME...: done (Ns)"
step_seconds() { grep -E "(\] |: )$2[^:]*: done \(" "$1" | tail -1 | sed -E 's/.*\(([0-9.]+)s\)$/\1/'; }

run_create() {
  local name=$1 log=$BENCH_STORE/$1.log started total
  started=$(now)
  /usr/bin/time -v "$DMACHINE" create -d qemu --qemu-image "$url/disk.qcow2" \
    --qemu-image-checksum "$url/SHA256SUMS" "$name" >/dev/null 2>"$log" || {
    echo "bench: create $name failed:" >&2; tail -5 "$log" >&2; return 1; }
  total=$(elapsed "$started")
  local image seed disk vm ssh
  image=$(step_seconds "$log" "image")
  seed=$(step_seconds "$log" "write the cloud-init seed")
  disk=$(step_seconds "$log" "make the disk")
  vm=$(step_seconds "$log" "start the VM")
  ssh=$(step_seconds "$log" "wait for SSH")
  local provision
  provision=$(echo "$total - ${image:-0} - ${seed:-0} - ${disk:-0} - ${vm:-0} - ${ssh:-0}" | bc)
  local rss_kb qemu_pid qemu_hwm accepted
  rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
  qemu_pid=$(cat "$BENCH_STORE/machines/$name/qemu.pid" 2>/dev/null)
  qemu_hwm=$(awk '/VmHWM/ {print $2}' "/proc/$qemu_pid/status" 2>/dev/null)
  accepted=$(dm ssh "$name" -- "sudo journalctl -u ssh --no-pager -o cat | grep -c 'Accepted publickey'")
  printf '%-52s %s s\n' "$2: total" "$total"
  printf '%-52s %s s\n' "  image ($3)" "${image:-?}"
  printf '%-52s %s s\n' "  cloud-init seed (ISO)" "${seed:-?}"
  printf '%-52s %s s\n' "  disk (qcow2 overlay)" "${disk:-?}"
  printf '%-52s %s s\n' "  VM start (qemu -daemonize)" "${vm:-?}"
  printf '%-52s %s s\n' "  boot to SSH" "${ssh:-?}"
  printf '%-52s %s s\n' "  provision (engine, certs) and the rest" "$provision"
  printf '%-52s %s MiB\n' "  peak RSS of dmachine create" "$((${rss_kb:-0} / 1024))"
  printf '%-52s %s MiB\n' "  peak RSS of QEMU (VmHWM)" "$((${qemu_hwm:-0} / 1024))"
  printf '%-52s %s\n' "  SSH sessions sshd accepted during create" "$((accepted - 1))"
}

echo "qemu create benchmark: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), -m $QEMU_MEMORY, $(ls -l "$image_dir/disk.qcow2" | awk '{print $5}') bytes image"
run_create b1 "first create" "downloaded, not cached"
dm rm -y b1 >/dev/null 2>&1
run_create b2 "second create" "cached"
dm rm -y b2 >/dev/null 2>&1
