#!/usr/bin/env bash
# Installs everything dmachine needs to build and to run its tests on Debian 12.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: run as root (apt-get needs it): sudo $0" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends \
  build-essential cmake ninja-build pkg-config git ca-certificates \
  libssh2-1-dev libcurl4-openssl-dev libssl-dev libcli11-dev libfmt-dev nlohmann-json3-dev \
  libyaml-cpp-dev libexpected-dev catch2 libpugixml-dev \
  debootstrap iptables iproute2 util-linux procps psmisc kmod \
  openssh-client openssh-server python3 busybox-static curl openssl bc time
# The docker client talks to the engines dmachine makes. Keep a newer one if present.
if ! command -v docker >/dev/null 2>&1; then
  apt-get install -y -q --no-install-recommends docker.io
fi
# The e2e tests start their own sshd; the package's own service must not run here.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl disable --now ssh.service >/dev/null 2>&1 || true
fi
