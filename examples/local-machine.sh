#!/usr/bin/env bash
# A local Docker host in seconds: create it, point the docker client at it over
# TLS, run a container from an image made here (no registry needed), clean up.
# Run as root on Debian 12 (the local driver makes namespaces and mounts).
set -euo pipefail
name=${1:-example}
dmachine create --driver local --engine-label purpose=example "$name"
eval "$(dmachine env "$name")"
docker info --format 'engine {{.ServerVersion}} on {{.Name}}, labels {{.Labels}}'

# An image from a busybox-static binary (apt-get install busybox-static).
dir=$(mktemp -d)
mkdir -p "$dir/root/bin"
cp "$(command -v busybox)" "$dir/root/bin/busybox"
ln -s busybox "$dir/root/bin/sh"
tar -C "$dir/root" -cf "$dir/image.tar" .
docker import "$dir/image.tar" example/busybox
docker run --rm example/busybox busybox echo "hello from $(dmachine ip "$name")"
rm -rf "$dir"

dmachine ssh "$name" -- systemctl is-active docker
[ "${KEEP:-}" = 1 ] || dmachine rm -y "$name"
