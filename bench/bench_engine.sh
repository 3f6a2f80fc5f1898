#!/usr/bin/env bash
# Issue 3 figures: `create -d generic` against a host that already has an
# engine, and `provision` of it: wall time, TCP connections sshd accepted
# (target: one) and remote commands run (sshd's own log, LogLevel VERBOSE).
#   sudo bench/bench_engine.sh
source "$(dirname "$0")/bench_lib.sh"
export LOCAL_SUBNET="${LOCAL_SUBNET:-10.213.245.0/24}" LOCAL_BRIDGE="${LOCAL_BRIDGE:-dmbench2}"
dm create -d local --no-provision host >/dev/null 2>&1 || { echo "bench: cannot create the host" >&2; exit 1; }
ip=$(dm ip host)
dm ssh host -- 'echo "LogLevel VERBOSE" >/etc/ssh/sshd_config.d/bench.conf && systemctl reload ssh'
sessions() { dm ssh host -- "journalctl -u ssh --no-pager -o cat | grep -c 'Starting session: command'"; }
# Connections the host's sshd accepted: unlike SYNs counted on this computer, not
# disturbed by SSH traffic of anything else running here at the same time.
accepted() { dm ssh host -- "journalctl -u ssh --no-pager -o cat | grep -c '^Accepted publickey'"; }

measure() { # label, command...
  local label=$1
  shift
  local s0 a0 c0 t c1 a1 s1
  s0=$(sessions)
  a0=$(accepted)
  c0=$(syn_count)
  t=$(now)
  "$@" >/dev/null 2>&1 || echo "bench: '$*' failed" >&2
  local took
  took=$(elapsed "$t")
  c1=$(syn_count)
  a1=$(accepted)
  s1=$(sessions)
  # The measuring calls themselves: one connection (a1), three sessions (a0, a1, s1).
  printf '%-44s %8s s %6s %9s %10s\n' "$label" "$took" "$((c1 - c0))" "$((a1 - a0 - 1))" "$((s1 - s0 - 3))"
}
printf '%-44s %10s %6s %9s %10s\n' "operation" "wall" "SYNs" "accepted" "commands"
measure "create -d generic (engine already there)" dm create -d generic --generic-ip-address "$ip" \
  --generic-ssh-key "$BENCH_STORE/machines/host/id_rsa" gen
measure "provision" dm provision gen
measure "regenerate-certs -f" dm regenerate-certs -f gen
measure "dmachine ssh gen -- true" dm ssh gen -- true
dm rm -y gen >/dev/null
