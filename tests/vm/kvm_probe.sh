#!/usr/bin/env bash
# Does a KVM guest actually run here? /dev/kvm opening is not enough (nested
# virtualisation on these machines: the guest hangs or QEMU aborts). Boots the
# test image (no network, no seed) with -accel kvm for at most DMVM_KVM_SECONDS
# (default 20) per CPU model and looks for the kernel in the serial log.
# Prints one line per CPU model: "kvm <cpu>: works|hangs|aborts ..." and exits 0
# when one model works, 1 otherwise. The qemu driver needs the same test.
#
# Usage: kvm_probe.sh [IMAGE_DIR]   (default: the output of build_test_image.sh)
set -uo pipefail
here=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
seconds=${DMVM_KVM_SECONDS:-20}
image_dir=${1:-$(bash "$here/build_test_image.sh")} || exit 2
[ -s "$image_dir/disk.qcow2" ] || { echo "kvm_probe: no disk.qcow2 in $image_dir" >&2; exit 2; }
if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
  echo "kvm: /dev/kvm cannot be opened: use TCG"
  exit 1
fi
tmp=$(mktemp -d /tmp/dmvmkvm.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
qemu-img create -q -f qcow2 -F qcow2 -b "$image_dir/disk.qcow2" "$tmp/overlay.qcow2"
works=1
for cpu in default host; do
  cpu_args=()
  [ "$cpu" = default ] || cpu_args=(-cpu "$cpu")
  : >"$tmp/console.log"
  t0=$(date +%s%3N)
  # Foreground QEMU under timeout(1): it dies with the probe, nothing lingers.
  timeout -k 5 "$seconds" qemu-system-x86_64 -no-user-config -nodefaults -machine pc \
    -accel kvm "${cpu_args[@]}" -m 512 -smp 1 \
    -drive "file=$tmp/overlay.qcow2,if=virtio,format=qcow2,snapshot=on" \
    -display none -serial "file:$tmp/console.log" -monitor none >"$tmp/qemu.out" 2>&1
  rc=$?
  elapsed=$(awk -v a="$t0" -v b="$(date +%s%3N)" 'BEGIN {printf "%.1f", (b - a) / 1000}')
  if grep -q "Linux version" "$tmp/console.log"; then
    result="works (kernel started; serial log has 'Linux version')"; works=0
  elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    result="hangs (no kernel output in ${seconds} s; $(wc -c <"$tmp/console.log") bytes of serial output)"
  else
    result="aborts (exit $rc: $(tr '\n' ' ' <"$tmp/qemu.out" | cut -c1-300))"
  fi
  echo "kvm cpu=$cpu: $result after $elapsed s"
done
exit "$works"
