#!/usr/bin/env bash
# Builds the VM test image: a bootable cloud-style disk (MBR, one ext4
# partition, GRUB in the MBR gap) made from Debian packages only, booted and
# configured by a cloud-init NoCloud seed (label "cidata"). It never contacts a
# network by itself (README of tests/vm: /work/notes/vmtest.md).
#
# Output: /var/cache/dmachine/vm-test-image/<recipe-hash>/{disk.qcow2,disk.raw,
# SHA256SUMS,packages.txt,kernel.txt}; the recipe hash is the hash of this
# script, so a changed recipe builds a new image. Prints that directory on
# stdout (logs go to stderr). A rerun with the image cached takes a second.
#
# Usage: build_test_image.sh [--mirror URL] [--cache DIR]
# Needs root and, on this computer: debootstrap, qemu-utils (qemu-img),
# e2fsprogs (mke2fs -d), fdisk (sfdisk). The boot loader comes from the image's
# own grub-pc-bin, so this computer needs no GRUB.
set -euo pipefail

k_suite=bookworm
k_disk_mib=2048 # virtual size of the disk; the VM drivers grow it (growpart)
k_part_start_sector=2048
k_debootstrap_timeout=900
k_apt_timeout=1800

script_path=$(readlink -f "${BASH_SOURCE[0]}")
cache_root=/var/cache/dmachine/vm-test-image
mirror="${DMACHINE_MIRROR:-}"

usage() { sed -n '2,17p' "$script_path" | sed 's/^# \{0,1\}//' >&2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --mirror) mirror="$2"; shift 2 ;;
    --cache) cache_root="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "build_test_image.sh: unknown argument: $1" >&2; usage; exit 2 ;;
  esac
done

log() { printf 'build_test_image: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap and chroot need it)"

# The first http(s) Debian mirror this computer's apt uses (not the security
# archive); the same choice as drivers/local's detect_mirror().
detect_mirror() {
  local files=(/etc/apt/sources.list) f uri
  while IFS= read -r f; do files+=("$f"); done < <(
    find /etc/apt/sources.list.d -maxdepth 1 \( -name '*.list' -o -name '*.sources' \) 2>/dev/null | LC_ALL=C sort)
  for f in "${files[@]}"; do
    [ -r "$f" ] || continue
    while read -r uri; do
      case "$uri" in
        *security*) continue ;;
        http://*/debian|http://*/debian/|https://*/debian|https://*/debian/) echo "$uri"; return 0 ;;
      esac
    done < <(awk '/^[[:space:]]*#/ {next}
                  /^URIs:/ {for (i = 2; i <= NF; i++) print $i; next}
                  $1 == "deb" {for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/) {print $i; next}}' "$f")
  done
  echo "http://deb.debian.org/debian"
}

recipe_hash=$(sha256sum "$script_path" | cut -c1-16)
final="$cache_root/$recipe_hash"
mkdir -p "$cache_root"

image_ok() { [ -s "$1/disk.qcow2" ] && [ -s "$1/disk.raw" ] && [ -s "$1/SHA256SUMS" ]; }

if image_ok "$final"; then
  log "cached: $final"
  echo "$final"
  exit 0
fi

# One build at a time; a second caller waits (bounded) and then finds the cache.
exec 9>"$cache_root/.lock"
flock -w 3600 9 || die "another build holds $cache_root/.lock for more than an hour"
if image_ok "$final"; then
  log "cached (built by another run): $final"
  echo "$final"
  exit 0
fi

for tool in debootstrap qemu-img mke2fs sfdisk chroot flock; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (apt-get install debootstrap qemu-utils e2fsprogs fdisk)"
done
[ -n "$mirror" ] || mirror=$(detect_mirror)

began=$(date +%s)
work=$(mktemp -d "$cache_root/.build.XXXXXX")
root="$work/root"

# Unmount everything below $work (deepest first); refuse to delete while a
# mount remains, so a bind of the computer's own /dev can never be emptied.
unmount_below() {
  local m
  for _ in 1 2 3; do
    mapfile -t mounts < <(awk -v w="$work/" 'index($5, w) == 1 {print $5}' /proc/self/mountinfo | sort -r)
    [ "${#mounts[@]}" -eq 0 ] && return 0
    for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
  done
  awk -v w="$work/" 'index($5, w) == 1 {found = 1} END {exit found ? 1 : 0}' /proc/self/mountinfo
}
cleanup() {
  local rc=$?
  if [ -n "${work:-}" ] && [ -d "$work" ]; then
    if unmount_below; then
      rm -rf --one-file-system "$work"
    else
      log "mounts remain below $work; not deleting it"
    fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- 1. root filesystem ------------------------------------------------------
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 "$@"; }
# DMVM_DEV_TREE (development only, not part of the recipe): a directory holding
# a copy of the tree after step 1, reused instead of debootstrap + apt-get.
if [ -n "${DMVM_DEV_TREE:-}" ] && [ -d "$DMVM_DEV_TREE/root" ]; then
  log "reusing the step-1 tree in $DMVM_DEV_TREE (development)"
  cp -a "$DMVM_DEV_TREE/root" "$root"
  mount -t proc proc "$root/proc"
else
log "debootstrap $k_suite from $mirror into $root (a few minutes, done once per recipe)"
timeout "$k_debootstrap_timeout" debootstrap --variant=minbase \
  --include=systemd-sysv,udev,dbus,kmod,iproute2,procps,ca-certificates \
  "$k_suite" "$root" "$mirror" >&2 || die "debootstrap failed (is $mirror reachable?)"

# No service may start in the chroot; apt reaches the mirror only.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"

packages=(
  linux-image-cloud-amd64 grub-pc-bin
  cloud-init cloud-guest-utils
  openssh-server sudo
  docker.io
)
log "apt-get install ${packages[*]}"
timeout "$k_apt_timeout" chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
  DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 apt-get install -y -q --no-install-recommends "${packages[@]}" >&2 || die "apt-get install failed"
if [ -n "${DMVM_DEV_TREE:-}" ]; then
  umount "$root/proc"; mkdir -p "$DMVM_DEV_TREE"; cp -a "$root" "$DMVM_DEV_TREE/root"
  mount -t proc proc "$root/proc"
fi
fi
kernel_version=$(ls "$root/lib/modules" | sort -V | tail -n 1)
# Drivers the seed and the VM drivers' hardware need: module file or built in.
has_module() {
  local dir="$root/lib/modules/$kernel_version"
  find "$dir/kernel" -name "$1.ko*" -print -quit 2>/dev/null | grep -q . ||
    grep -q "/$1.ko\$" "$dir/modules.builtin" 2>/dev/null
}
{
  echo "$kernel_version"
  for m in isofs virtio_blk virtio_net virtio_scsi ata_piix ahci sr_mod e1000 e1000e pcnet32 ext4; do
    if has_module "$m"; then echo "module $m: yes"; else echo "module $m: no"; fi
  done
} >"$work/kernel.txt"
for m in isofs virtio_blk virtio_net ext4; do
  has_module "$m" || die "kernel $kernel_version has no $m driver"
done

# --- 2. configuration: offline by default, NoCloud seed only ----------------
rm -f "$root/usr/sbin/policy-rc.d"
: >"$root/etc/resolv.conf" # no DNS unless the seed's network-config gives one
in_root apt-get clean
rm -rf "$root"/var/lib/apt/lists/*
umount "$root/proc"

mkdir -p "$root/etc/cloud/cloud.cfg.d"
cat >"$root/etc/cloud/cloud.cfg.d/90_dpkg.cfg" <<'EOF'
# to update this file, run dpkg-reconfigure cloud-init
datasource_list: [ NoCloud, None ]
EOF
cat >"$root/etc/cloud/cloud.cfg.d/99_dmachine.cfg" <<'EOF'
# dmachine VM test image. cloud-init reads the NoCloud seed (a disk or CD-ROM
# labelled "cidata": meta-data, user-data, network-config) and nothing else:
# no metadata service, no package update, no NTP, no resolv.conf of its own.
datasource_list: [ NoCloud, None ]
system_info:
  network:
    renderers: [ networkd ]
    activators: [ networkd ]
apt:
  preserve_sources_list: true
package_update: false
package_upgrade: false
package_reboot_if_required: false
ntp:
  enabled: false
manage_resolv_conf: false
locale: C.UTF-8
ssh_genkeytypes: [ rsa, ecdsa, ed25519 ]
manage_etc_hosts: true
grub_dpkg:
  enabled: false
EOF

# systemd-networkd applies what cloud-init writes (10-cloud-init-*.network);
# the image itself configures no interface. wait-online is bounded.
mkdir -p "$root/etc/systemd/system/multi-user.target.wants" \
         "$root/etc/systemd/system/network-online.target.wants" \
         "$root/etc/systemd/system/sockets.target.wants" \
         "$root/etc/systemd/system/systemd-networkd-wait-online.service.d"
ln -sf /lib/systemd/system/systemd-networkd.service "$root/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
ln -sf /lib/systemd/system/systemd-networkd.socket "$root/etc/systemd/system/sockets.target.wants/systemd-networkd.socket"
ln -sf /lib/systemd/system/systemd-networkd-wait-online.service "$root/etc/systemd/system/network-online.target.wants/systemd-networkd-wait-online.service"
cat >"$root/etc/systemd/system/systemd-networkd-wait-online.service.d/dmachine.conf" <<'EOF'
[Service]
ExecStart=
ExecStart=/lib/systemd/systemd-networkd-wait-online --any --timeout=30
EOF
# Like a publisher's cloud image, the engine is not running at first boot: the
# provisioner enables and starts it (starting it at boot too cost a TCG boot about
# a minute, and the provisioner's restart then waited for that start to finish).
rm -f "$root"/etc/systemd/system/*.wants/docker.service \
      "$root"/etc/systemd/system/*.wants/docker.socket \
      "$root"/etc/systemd/system/*.wants/containerd.service
# No periodic apt run at boot or later.
for unit in apt-daily.timer apt-daily-upgrade.timer apt-daily.service apt-daily-upgrade.service; do
  ln -sf /dev/null "$root/etc/systemd/system/$unit"
done

# Every VM gets its own machine-id and SSH host keys at first boot (cloud-init
# cc_ssh writes the keys before ssh.service starts).
rm -f "$root"/etc/ssh/ssh_host_* "$root/var/lib/dbus/machine-id"
: >"$root/etc/machine-id"
echo "localhost" >"$root/etc/hostname"

fs_uuid=$(cat /proc/sys/kernel/random/uuid)
cat >"$root/etc/fstab" <<EOF
UUID=$fs_uuid / ext4 rw,discard,errors=remount-ro 0 0
EOF

# --- 3. boot loader: GRUB (i386-pc) core in the MBR gap, config in /boot/grub
mkdir -p "$root/boot/grub/i386-pc"
cp "$root"/usr/lib/grub/i386-pc/*.mod "$root"/usr/lib/grub/i386-pc/*.lst "$root/boot/grub/i386-pc/"
cat >"$root/boot/grub/grub.cfg" <<EOF
# dmachine VM test image: no menu, boot at once, kernel log on the serial port.
set timeout=0
serial --unit=0 --speed=115200
terminal_input console serial
terminal_output console serial
search --no-floppy --fs-uuid --set=root $fs_uuid
linux /vmlinuz root=UUID=$fs_uuid ro console=tty0 console=ttyS0,115200n8 apparmor=0
initrd /initrd.img
boot
EOF
in_root grub-mkimage -O i386-pc -o /tmp/core.img -p '(hd0,msdos1)/boot/grub' \
  biosdisk part_msdos ext2 search_fs_uuid
cp "$root/tmp/core.img" "$work/core.img"
cp "$root/usr/lib/grub/i386-pc/boot.img" "$work/boot.img"
rm -f "$root/tmp/core.img"
# GRUB's tools were needed for core.img only; without them cloud-init's
# grub-dpkg has nothing to probe.
in_root apt-get purge -y -q grub-pc-bin grub-common >&2
in_root apt-get autoremove -y -q --purge >&2
in_root dpkg-query -W -f='${Package} ${Version}\n' >"$work/packages.txt"
core_sectors=$(( ($(stat -c %s "$work/core.img") + 511) / 512 ))
[ "$core_sectors" -lt "$((k_part_start_sector - 1))" ] || die "GRUB core image too big for the MBR gap"

# --- 4. disk: ext4 filled from the tree (no mount, no loop device) ----------
used_mib=$(du -s --block-size=1M "$root" | cut -f1)
part_mib=$((k_disk_mib - 1))
[ "$used_mib" -lt $((part_mib * 3 / 4)) ] || die "root tree ($used_mib MiB) too big for a $k_disk_mib MiB disk"
log "root tree: $used_mib MiB; making the $k_disk_mib MiB disk"
truncate -s "${k_disk_mib}M" "$work/disk.raw"
mke2fs -q -F -t ext4 -L dmroot -U "$fs_uuid" -d "$root" \
  -E offset=$((k_part_start_sector * 512)) "$work/disk.raw" "${part_mib}M" >&2
printf 'label: dos\nstart=%s, type=83, bootable\n' "$k_part_start_sector" |
  sfdisk --no-reread --no-tell-kernel -q "$work/disk.raw" >&2
# boot.img's code only (440 bytes: keep the disk signature and partition table);
# it loads core.img from sector 1 (its default), whose first sector lists the rest.
dd if="$work/boot.img" of="$work/disk.raw" bs=440 count=1 conv=notrunc status=none
# Trust the boot drive the BIOS passes (what grub-bios-setup does for a disk).
if [ "$(od -An -tx1 -j $((0x66)) -N1 "$work/disk.raw" | tr -d ' ')" = "eb" ]; then
  printf '\x90\x90' | dd of="$work/disk.raw" bs=1 seek=$((0x66)) conv=notrunc status=none
fi
dd if="$work/core.img" of="$work/disk.raw" bs=512 seek=1 conv=notrunc status=none

log "qemu-img convert to a compressed qcow2"
qemu-img convert -c -O qcow2 "$work/disk.raw" "$work/disk.qcow2"
(cd "$work" && sha256sum disk.qcow2 disk.raw >SHA256SUMS)

# --- 5. into place ------------------------------------------------------------
rm -rf --one-file-system "$root" "$work/core.img" "$work/boot.img"
chmod 0755 "$work"
[ ! -e "$final" ] || rm -rf --one-file-system "$final" # an incomplete earlier one
mv -T "$work" "$final"
work=""
log "built in $(( $(date +%s) - began )) s: $final (kernel $kernel_version)"
ls -ls "$final" >&2
echo "$final"
