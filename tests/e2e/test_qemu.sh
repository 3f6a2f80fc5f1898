#!/usr/bin/env bash
# e2e: the qemu driver on real VMs (TCG here). The test image (tests/vm/build_test_image.sh)
# is served on 127.0.0.1 with its SHA256SUMS, so download -> checksum -> cache runs for real.
# create -> ssh -> docker run of a local image -> stop -> start (same IP, same certs) ->
# restart -> kill -> rm: no QEMU, tap, overlay or socket left. Bad input: checksum mismatch,
# unreachable URL, disk too small, Ctrl-C during the download and during the boot. Then a
# cluster of 1 manager + 1 worker with a service answering on both nodes.
# VMs: -m 512, network 10.213.244.0/24 (QEMU_NETWORK_CIDR), at most 2 at once.
# DM_QEMU_SKIP_CLUSTER=1 leaves the cluster out.
source "$(dirname "$0")/lib.sh"
e2e_init
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is missing (apt-get install qemu-system-x86)"
command -v qemu-img >/dev/null || skip "qemu-img is missing (apt-get install qemu-utils)"
command -v docker >/dev/null || skip "the docker client is missing"
command -v python3 >/dev/null || skip "python3 is missing"
command -v busybox >/dev/null || skip "busybox is missing (apt-get install busybox-static)"
source "$DM_SOURCE_DIR/tests/vm/serve_image.sh"

export QEMU_NETWORK_CIDR=10.213.244.0/24 QEMU_MEMORY=512
bridge_of_net() { ip -o -4 addr show | awk '$4 == "10.213.244.1/24" {print $2}'; }
k_wait=600

log "building (or finding) the cached test image"
image_dir=$(bash "$DM_SOURCE_DIR/tests/vm/build_test_image.sh" 2>"$E2E_STORE.image.log") ||
  skip "the test image cannot be built: $(tail -3 "$E2E_STORE.image.log")"
rm -f "$E2E_STORE.image.log"
[ -s "$image_dir/disk.qcow2" ] || skip "no disk.qcow2 in $image_dir"
work=$(mktemp -d)
SLOW_PID=""
e2e_on_exit 'serve_image_stop; [ -z "$SLOW_PID" ] || kill "$SLOW_PID" 2>/dev/null; timeout 600 "$DMACHINE" cluster rm -f qc >/dev/null 2>&1; rm -rf "$work"'
serve_image_start "$image_dir" || skip "cannot serve the image on 127.0.0.1"
url="http://127.0.0.1:$SERVE_PORT"
log "serving $image_dir on $url"

# nothing_left NAME DIR: no qemu of that machine dir, no tap of it, no overlay/socket
qemu_pids_of() { pgrep -f -- "$1/qmp.sock" || true; }
check_nothing_left() {
  local what=$1 dir=$2
  check_eq "$what: no qemu process" "" "$(qemu_pids_of "$dir")"
  check_eq "$what: no overlay, socket or pid file" "" "$(ls "$dir"/disk.qcow2 "$dir"/qmp.sock "$dir"/qemu.pid 2>/dev/null)"
}
taps_now() { ip -o link show | awk -F': ' '{print $2}' | grep '^dmqt' | sed 's/@.*//' | sort | xargs; }
taps_before=$(taps_now)

log "bad input: each refused with a clear message, nothing left"
out=$(dm create -d qemu --qemu-image "$url/disk.qcow2" --qemu-image-checksum "sha256:$(printf '0%.0s' $(seq 1 64))" bad1 2>&1)
check_eq "checksum mismatch: exit 1" "1" "$?"
check_contains "checksum mismatch: says so" "checksum mismatch" "$out"
check_eq "checksum mismatch: no machine, no cached file" "" "$(dm ls -q; ls "$E2E_STORE/cache/images" 2>/dev/null | grep -v '\.lock$')"
closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
out=$(dm create -d qemu --qemu-image "http://127.0.0.1:$closed/disk.qcow2" --qemu-image-checksum "http://127.0.0.1:$closed/SHA256SUMS" bad2 2>&1)
check_eq "unreachable image URL: exit 1" "1" "$?"
check_contains "unreachable image URL: names it" "127.0.0.1:$closed" "$out"
check_eq "unreachable: no machine" "" "$(dm ls -q)"
out=$(dm create -d qemu --qemu-image "$url/disk.qcow2" --qemu-image-checksum "$url/SHA256SUMS" --qemu-disk-size 1000 bad3 2>&1)
check_eq "disk smaller than the image: exit 1" "1" "$?"
check_contains "disk too small: says the sizes" "1000 MB is smaller than the image (2048 MB)" "$out"
check_eq "disk too small: no machine" "" "$(dm ls -q)"
check_contains "the image was cached by that attempt" "disk.qcow2" "$(ls "$E2E_STORE/cache/images")"
out=$(dm create -d qemu --qemu-network-cidr 127.0.0.0/24 q0 2>&1)
check_eq "loopback network refused: exit 3" "3" "$?"
check_contains "names the flag" "--qemu-network-cidr" "$out"

# Ctrl-C during a download (a slow server, a fresh store so nothing is cached)
slow_store=$(mktemp -d /tmp/dm-e2e-qemu-slow.XXXXXX)
SERVE_SAVED=$SERVE_PID
serve_image_start "$image_dir" 2000000 && SLOW_PID=$SERVE_PID slow_port=$SERVE_PORT
SERVE_PID=$SERVE_SAVED
MACHINE_STORAGE_PATH=$slow_store "$DMACHINE" create -d qemu --qemu-image "http://127.0.0.1:$slow_port/disk.qcow2" \
  --qemu-image-checksum "http://127.0.0.1:$slow_port/SHA256SUMS" slow1 >"$work/slow.out" 2>&1 &
pid=$!
for _ in $(seq 1 100); do ls "$slow_store"/cache/images/*.part >/dev/null 2>&1 && break; sleep 0.2; done
sleep 2
kill -INT "$pid"
wait "$pid"
check_eq "Ctrl-C during the download: exit 130" "130" "$?"
check_contains "says it was interrupted" "nterrupt" "$(cat "$work/slow.out")"
check_eq "no machine left" "" "$(MACHINE_STORAGE_PATH=$slow_store "$DMACHINE" ls -q)"
check_contains "the partial download is kept for the next run" ".part" "$(ls "$slow_store/cache/images")"
kill "$SLOW_PID" 2>/dev/null; wait "$SLOW_PID" 2>/dev/null; SLOW_PID=""
rm -rf "$slow_store"

# Ctrl-C during the boot (after the VM started, while create waits for SSH)
"$DMACHINE" create -d qemu --qemu-image "$url/disk.qcow2" --qemu-image-checksum "$url/SHA256SUMS" boot1 \
  >"$work/boot.out" 2>&1 &
pid=$!
for _ in $(seq 1 300); do grep -Eq "start the VM (.*): done" "$work/boot.out" && break; sleep 0.5; done
grep -Eq "start the VM (.*): done" "$work/boot.out" && pass "the VM was started (create waits for SSH)" || failed "never reached the SSH wait: $(tail -3 "$work/boot.out")"
sleep 3
kill -INT "$pid"
wait "$pid"
check_eq "Ctrl-C during the boot: exit 130" "130" "$?"
check_eq "no machine left" "" "$(dm ls -q)"
check_nothing_left "interrupted boot" "$E2E_STORE/machines/boot1"
check_eq "no tap left" "$taps_before" "$(taps_now)"
check_eq "no bridge left" "" "$(bridge_of_net)"

log "create q1 from the served image (boot under TCG takes minutes)"
started=$SECONDS
check_exit "create -d qemu q1" 0 dm create -d qemu --qemu-image "$url/disk.qcow2" --qemu-image-checksum "$url/SHA256SUMS" q1
log "create took $((SECONDS - started)) s"
dir="$E2E_STORE/machines/q1"
ip1=$(dm ip q1)
check_eq "the machine's IP is the first host after the bridge's" "10.213.244.2" "$ip1"
check_eq "state Running" "Running" "$(dm status q1)"
check_contains "ssh q1 -- uname -a" "Linux q1" "$(dm ssh q1 -- uname -a)"
check_exit "the host reaches the VM's SSH on its static IP" 0 timeout 5 bash -c "</dev/tcp/$ip1/22"
mkdir -p "$work/root/bin"
cp "$(command -v busybox)" "$work/root/bin/busybox"
tar -C "$work/root" -cf "$work/bb.tar" .
check_exit "docker import of a local image" 0 bash -c "eval \"\$($DMACHINE env --shell bash q1)\" && docker import $work/bb.tar local/bb:1"
check_eq "docker run of it" "hello from q1" \
  "$(eval "$(dm env --shell bash q1)"; docker run --rm local/bb:1 /bin/busybox echo hello from q1 2>&1)"

check_exit "stop q1" 0 dm stop q1
check_eq "state Stopped" "Stopped" "$(dm status q1)"
check_eq "stopped: no qemu" "" "$(qemu_pids_of "$dir")"
check_eq "stopped: no tap, no bridge" "$taps_before|" "$(taps_now)|$(bridge_of_net)"
check_exit "start q1" 0 dm start q1
check_eq "same IP after start" "$ip1" "$(dm ip q1)"
ok=""
for _ in $(seq 1 $((k_wait / 5))); do
  if (eval "$(dm env --shell bash q1)"; docker --tlsverify info >/dev/null 2>&1); then ok=1; break; fi
  sleep 5
done
check_eq "docker --tlsverify info with the same certs after start" "1" "$ok"
check_exit "restart q1" 0 dm restart q1
check_eq "Running after restart" "Running" "$(dm status q1)"
# A fresh SSH session right after the boot may time out while the VM is busy (TCG): bounded retries.
ok=""
for _ in $(seq 1 12); do
  if timeout 60 "$DMACHINE" ssh q1 -- true >/dev/null 2>&1; then ok=1; break; fi
  sleep 5
done
check_eq "ssh after restart" "1" "$ok"
check_exit "kill q1" 0 dm kill q1
check_eq "killed: Stopped" "Stopped" "$(dm status q1)"
check_eq "killed: no qemu" "" "$(qemu_pids_of "$dir")"
check_exit "rm q1" 0 dm rm -y q1
check_nothing_left "rm q1" "$dir"
check_eq "rm: machine dir gone" "no" "$([ -d "$dir" ] && echo yes || echo no)"
check_eq "rm: no tap left" "$taps_before" "$(taps_now)"
check_eq "rm: no bridge left" "" "$(bridge_of_net)"
check_eq "the base image stays cached" "1" "$(ls "$E2E_STORE/cache/images" | grep -c 'disk.qcow2$')"

if [ "${DM_QEMU_SKIP_CLUSTER:-}" = 1 ]; then
  log "cluster left out (DM_QEMU_SKIP_CLUSTER=1)"
  e2e_finish
  exit
fi
log "cluster create -d qemu --managers 1 --workers 1 (two VMs)"
started=$SECONDS
check_exit "cluster create qc" 0 dm cluster create -d qemu --managers 1 --workers 1 \
  --qemu-image "$url/disk.qcow2" --qemu-image-checksum "$url/SHA256SUMS" qc
log "cluster create took $((SECONDS - started)) s"
check_eq "2 Ready nodes" "2" \
  "$( (eval "$(dm cluster env --shell bash qc)"; docker node ls --format '{{.Status}}') | grep -c Ready)"
DMACHINE="$DMACHINE" timeout 900 bash "$DM_SOURCE_DIR/examples/cluster-routing-mesh.sh" qc 2 8080 >"$work/mesh" 2>&1
sed 's/^/  | /' "$work/mesh"
for node in qc-manager-1 qc-worker-1; do
  check_eq "port 8080 answers on $node" "3" "$(grep -c "^  $node (.*) -> task " "$work/mesh")"
done
check_exit "cluster rm qc" 0 dm cluster rm -y qc
check_eq "nothing left of qc" "" "$(dm ls -q; dm cluster ls -q)"
check_eq "cluster: no tap left" "$taps_before" "$(taps_now)"
check_eq "cluster: no bridge left" "" "$(bridge_of_net)"
e2e_finish
