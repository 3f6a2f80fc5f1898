#!/usr/bin/env bash
# Adopt an existing Linux server (Debian, Ubuntu, Fedora, CentOS Stream, Rocky,
# AlmaLinux) reached over SSH: dmachine keeps an installed engine or installs the
# distribution's package, then configures dockerd for TLS on port 2376.
#
#   examples/generic-machine.sh 192.0.2.10 ~/.ssh/id_ed25519 [user]
#
# A non-root user needs passwordless sudo (dmachine says so if sudo asks for a password).
set -euo pipefail
ip=$1
key=$2
user=${3:-root}
dmachine create --driver generic \
  --generic-ip-address "$ip" --generic-ssh-key "$key" --generic-ssh-user "$user" \
  --engine-opt log-level=warn --engine-insecure-registry registry.internal:5000 \
  --engine-label env=staging --tls-san "server.internal" \
  server
dmachine env server          # bash/zsh/sh; --shell fish|powershell|cmd|emacs|tcsh for others
dmachine version server      # the engine's version, over TLS
dmachine provision server    # idempotent: run again after changing the server
dmachine rm -y server        # forgets the machine; the server keeps running
