#!/usr/bin/env bash
# e2e: what a local machine keeps away from root inside it. From `dmachine ssh`
# as root: a classic chroot escape and an open_by_handle_at ("shocker") escape
# must not reach this computer's files (a marker made here, the store's
# ca-key.pem); no host process is visible; no block device can be opened or
# mounted; /sys and /proc/sys (but its net part) are read-only; the capabilities
# that act on the whole computer are gone; dockerd still runs containers
# with a published port; and root inside cannot lift --local-memory.
source "$(dirname "$0")/lib.sh"
e2e_init
command -v gcc >/dev/null || skip "gcc is missing (apt-get install gcc): it builds the probes"
command -v docker >/dev/null || skip "the docker client is missing (apt-get install docker.io)"
command -v busybox >/dev/null || skip "busybox is missing (apt-get install busybox-static)"
S="$E2E_STORE"
work=$(mktemp -d)
marker=$(mktemp /var/tmp/dm-isolation-marker.XXXXXX)
bash -c 'exec -a dm-isolation-probe-process sleep 600' &
host_sleeper=$!
e2e_on_exit 'kill $host_sleeper 2>/dev/null; rm -rf "$work" "$marker"'
probes="$DM_SOURCE_DIR/tests/e2e/probes"
for p in chroot_escape open_by_handle; do
  gcc -static -O1 -o "$work/$p" "$probes/$p.c" || skip "gcc cannot build static programs (libc6-dev)"
done

check_exit "create iso (local, engine provisioned)" 0 dm create -d local iso
ca_key="$S/certs/ca-key.pem"
[ -f "$ca_key" ] && pass "the store's ca-key.pem exists on this computer" || failed "no $ca_key"
check_exit "copy the chroot escape probe in" 0 dm scp "$work/chroot_escape" iso:/root/chroot_escape
check_exit "copy the open_by_handle probe in" 0 dm scp "$work/open_by_handle" iso:/root/open_by_handle
dm ssh iso -- chmod 755 /root/chroot_escape /root/open_by_handle

log "chroot escape"
out=$(dm ssh iso -- 'cd /tmp && /root/chroot_escape /etc/os-release '"'$ca_key' '$marker' '$DM_SOURCE_DIR/CMakeLists.txt'" 2>&1)
check_contains "the escape ran (the machine's own files stay visible)" "VISIBLE /etc/os-release" "$out"
check_contains "the store's ca-key.pem is not reachable" "hidden $ca_key" "$out"
check_contains "a marker file made on this computer is not reachable" "hidden $marker" "$out"
check_contains "the source tree is not reachable" "hidden $DM_SOURCE_DIR/CMakeLists.txt" "$out"

log "open_by_handle_at"
out=$(dm ssh iso -- /root/open_by_handle /var/lib/docker 2>&1)
check_contains "open_by_handle_at through the /var/lib/docker bind mount is refused" "refused" "$out"

log "processes and /proc"
out=$(dm ssh iso -- "grep -l dm-isolation-probe-[p]rocess /proc/[0-9]*/cmdline 2>/dev/null; echo end" 2>&1)
check_eq "no process of this computer is visible" "end" "$out"
check_exit "/proc/1/root is the machine's own root: no host file under it" 1 dm ssh iso -- test -e "/proc/1/root$ca_key" -o -e "/proc/1/root$marker"

log "devices"
out=$(dm ssh iso -- 'ls /dev/sda /dev/vda /dev/nvme0n1 /dev/nvme0 /dev/loop0 /dev/mem /dev/kmsg 2>&1 | grep -v "No such file"; echo end')
check_eq "no disk, loop, mem or kmsg device node" "end" "$out"
# The node goes in /dev: /tmp is nodev, which would refuse it whatever the devices cgroup says.
root_dev=$(findmnt -n -o MAJ:MIN / | tr -d ' ')
major=${root_dev%%:*}
minor=${root_dev##*:}
out=$(dm ssh iso -- "mknod /dev/dm-disk b $major $minor 2>&1; head -c 512 /dev/dm-disk >/dev/null && echo READ-OK; mkdir -p /tmp/mnt; mount -o ro /dev/dm-disk /tmp/mnt && echo MOUNT-OK; umount /tmp/mnt 2>/dev/null; rm -f /dev/dm-disk; echo end" 2>&1)
check_contains "this computer's disk ($root_dev) cannot be read" "end" "$out"
case "$out" in
*READ-OK* | *MOUNT-OK*) failed "the disk was read or mounted: $out" ;;
*) pass "this computer's disk ($root_dev) can be neither read nor mounted" ;;
esac

# This computer may refuse block devices to everyone already: the machine's own rules are
# checked too (cgroup v1 devices controller, seen from inside the machine).
if [ -d /sys/fs/cgroup/devices ]; then
  list=$(dm ssh iso -- cat /sys/fs/cgroup/devices/devices.list 2>&1)
  check_eq "the devices cgroup grants no block device and not all devices" "" \
    "$(printf '%s\n' "$list" | grep -E '^a |^b .* [^ ]*[rw]')"
  check_contains "the devices cgroup grants /dev/null" "c 1:3 rwm" "$list"
  check_exit "root inside cannot grant itself this computer's disk" 1 dm ssh iso -- sh -c "echo 'b $major:$minor rwm' > /sys/fs/cgroup/devices/devices.allow"
fi

log "read-only /sys and /proc/sys"
out=$(dm ssh iso -- 'for f in /sys/kernel/mm/transparent_hugepage/enabled /sys/kernel/mm/ksm/run /sys/class/net/lo/mtu; do [ -e $f ] && { sh -c "cat $f | head -c 0 > $f" 2>&1 || true; }; done; echo end')
check_contains "writes to /sys fail" "Read-only file system" "$out"
out=$(dm ssh iso -- 'v=$(cat /proc/sys/vm/overcommit_memory); sh -c "echo $v > /proc/sys/vm/overcommit_memory" 2>&1; echo end')
check_contains "writes to /proc/sys/vm fail" "Read-only file system" "$out"
check_exit "the machine's own /proc/sys/net stays writable" 0 dm ssh iso -- sh -c 'cat /proc/sys/net/ipv4/ip_forward > /proc/sys/net/ipv4/ip_forward'
# Never written to: on a computer where the mask were missing, that would act on it.
out=$(dm ssh iso -- 'for f in sysrq-trigger kcore keys timer_list; do [ -e /proc/$f ] && echo "$f $(head -c 100 /proc/$f 2>/dev/null | wc -c)"; done; echo end')
check_eq "sysrq-trigger, kcore, keys and timer_list are masked (empty)" "" "$(echo "$out" | grep -v ' 0$' | grep -v '^end$')"
check_contains "keys or timer_list exists to be masked" " 0" "$out"

log "capabilities"
bnd=$(dm ssh iso -- "awk '/^CapBnd/ {print \$2}' /proc/1/status")
for cap in dac_read_search:2 sys_module:16 sys_rawio:17 sys_boot:22 sys_time:25 syslog:34; do
  bit=${cap##*:}
  if (((0x$bnd >> bit) & 1)); then failed "${cap%%:*} is in the machine's bounding set ($bnd)"; else pass "${cap%%:*} is dropped"; fi
done
(((0x$bnd >> 21) & 1)) && pass "sys_admin stays (dockerd needs it)" || failed "sys_admin missing ($bnd)"

log "dockerd still works"
mkdir -p "$work/bb/bin" "$work/bb/www"
cp "$(command -v busybox)" "$work/bb/bin/busybox"
for c in sh echo httpd; do ln -s busybox "$work/bb/bin/$c"; done
echo isolated-but-working >"$work/bb/www/index.html"
tar -C "$work/bb" -cf "$work/bb.tar" .
ip=$(dm ip iso)
(
  eval "$(dm env iso)"
  docker import "$work/bb.tar" bb:local >/dev/null &&
    docker run --rm bb:local echo hello-from-a-container &&
    docker run -d --name web -p 8080:80 bb:local httpd -f -p 80 -h /www >/dev/null
) >"$work/run.out" 2>&1
check_contains "docker run of a locally imported image" "hello-from-a-container" "$(cat "$work/run.out")"
body=""
for _ in $(seq 1 30); do
  body=$(curl -s --max-time 2 "http://$ip:8080/" 2>/dev/null) && [ -n "$body" ] && break
  sleep 0.5
done
check_eq "a published port answers from this computer" "isolated-but-working" "$body"

check_exit "rm iso" 0 dm rm -y iso

log "limits root inside cannot lift"
check_exit "create lim (--local-memory 256)" 0 dm create -d local --no-provision --local-memory 256 lim
id=$(grep -o '"Netns": *"dm-[0-9a-f]*"' "$S/machines/lim/config.json" | grep -o '[0-9a-f]\{8\}')
if [ -d /sys/fs/cgroup/memory ]; then
  limit_file=memory.limit_in_bytes inside=/sys/fs/cgroup/memory unlimited=-1 outside=/sys/fs/cgroup/memory/dmachine/$id
else
  limit_file=memory.max inside=/sys/fs/cgroup unlimited=max outside=/sys/fs/cgroup/dmachine/$id
fi
dm ssh lim -- "echo $unlimited > $inside/$limit_file" >/dev/null 2>&1
check_eq "the machine's memory limit is still 256 MB after root inside tried to lift it" \
  "$((256 * 1024 * 1024))" "$(cat "$outside/$limit_file" 2>&1)"
check_exit "rm lim" 0 dm rm -y lim
e2e_finish
