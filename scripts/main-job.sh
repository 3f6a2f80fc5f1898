#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install dependencies, build
# dmachine, install it to /usr/local/bin, and bring up a real local Docker host
# named "default" (or start it again if it exists).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "scripts/main-job.sh: the local driver makes namespaces, mounts and cgroups: run as root" >&2
  exit 1
fi
scripts/install-deps.sh
scripts/build.sh
install -m 0755 build/dmachine /usr/local/bin/dmachine
export LOCAL_CACHE_DIR="${LOCAL_CACHE_DIR:-/var/cache/dmachine/local}"
name="${1:-default}"
if dmachine status "$name" >/dev/null 2>&1; then
  dmachine start "$name"
else
  dmachine create --driver local "$name"
fi
dmachine ls
echo "--- dmachine ssh $name -- cat /etc/os-release"
dmachine ssh "$name" -- cat /etc/os-release
echo "--- the Docker engine over TLS"
eval "$(dmachine env "$name")"
docker info --format 'Docker {{.ServerVersion}} on {{.Name}} ({{.OperatingSystem}})'
work=$(mktemp -d)
mkdir -p "$work/root/bin" && cp "$(command -v busybox)" "$work/root/bin/busybox"
tar -C "$work/root" -cf "$work/busybox.tar" . && docker import "$work/busybox.tar" local/busybox >/dev/null
docker run --rm local/busybox busybox echo "docker run works on $name"
rm -rf "$work"
echo
echo "The machine \"$name\" is running. Point your docker client at it with:"
echo "    eval \$(dmachine env $name)"
