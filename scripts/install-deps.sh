#!/usr/bin/env bash
# Installs the Debian packages dmachine needs to build and to run its tests on
# Debian 12. It installs packages and nothing else: it never stops, disables,
# masks or reconfigures a service of this computer, and it starts none (README,
# "What the scripts change on this computer").
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: run as root (apt-get needs it): sudo $0" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libssh2-1-dev libcurl4-openssl-dev libssl-dev libcli11-dev libfmt-dev nlohmann-json3-dev
  libyaml-cpp-dev libexpected-dev catch2 libpugixml-dev libisofs-dev clang libclang-rt-14-dev
  debootstrap iptables iproute2 util-linux procps psmisc kmod
  openssh-client python3 busybox-static curl openssl bc time sshfs ccache xorriso jq
  zsh fish bash-completion man-db dpkg-dev lintian
  qemu-system-x86 qemu-utils e2fsprogs fdisk
)
# tests/e2e/test_host_services.sh runs this script inside a machine with a short
# list (DMACHINE_DEPS_PACKAGES) to check that no service changes state.
if [ -n "${DMACHINE_DEPS_PACKAGES:-}" ]; then
  read -r -a packages <<<"$DMACHINE_DEPS_PACKAGES"
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The tests run their own sshd (on a free port, with its own config): they
# need the openssh-server package's binary and its privilege-separation user,
# not its service. A computer that has the package keeps it exactly as it is.
# On one without it, the package is installed with services held back by a
# temporary policy-rc.d (removed again, or the computer's own one put back), and
# the unit it would enable for the next boot is left disabled: ssh.service
# neither runs nor starts at boot, as before.
if ! dpkg-query -W -f='${Status}' openssh-server 2>/dev/null | grep -q 'install ok installed'; then
  policy=/usr/sbin/policy-rc.d
  saved=""
  if [ -e "$policy" ]; then saved=$(mktemp); cp -p "$policy" "$saved"; fi
  restore_policy() { if [ -n "$saved" ]; then mv -f "$saved" "$policy"; else rm -f "$policy"; fi; }
  trap restore_policy EXIT
  printf '#!/bin/sh\n# dmachine install-deps: no service starts during this install\nexit 101\n' >"$policy"
  chmod 0755 "$policy"
  apt-get update -q
  apt-get install -y -q --no-install-recommends openssh-server
  restore_policy
  trap - EXIT
  if command -v deb-systemd-helper >/dev/null 2>&1; then
    deb-systemd-helper disable ssh.service ssh.socket >/dev/null 2>&1 || true
  fi
fi

# The docker client talks to the engines dmachine makes; the daemon must not
# run here. Keep any docker client already on PATH; otherwise unpack the client
# alone from Debian's docker.io package (installing the package would start and
# enable dockerd on this computer and rewrite its iptables).
if ! command -v docker >/dev/null 2>&1; then
  apt-get update -q
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -q docker.io)
  dpkg-deb -x "$tmp"/docker.io_*.deb "$tmp/x"
  install -m 0755 "$tmp/x/usr/bin/docker" /usr/local/bin/docker
  rm -rf "$tmp"
fi
