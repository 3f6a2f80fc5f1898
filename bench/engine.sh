#!/usr/bin/env bash
# Issue 3 figures: `create -d generic` against a host that already runs a Docker
# engine, and `provision` of it: wall time, TCP connections sshd accepted
# (target: one) and remote commands run. The host is a local machine made
# first; the generic driver adopts it under another name with its id_rsa.
# Prints a table; never fails on time.
#   sudo DMACHINE=build/dmachine bash bench/engine.sh
BENCH_SUBNET=10.213.233.0/24 BENCH_BRIDGE=dmbeng
source "$(dirname "$0")/lib.sh"
ROUNDS=${BENCH_ROUNDS:-3}

note "store $BENCH_STORE, subnet $LOCAL_SUBNET, bridge $LOCAL_BRIDGE, load $(cut -d' ' -f1-3 /proc/loadavg)"
# The host: a local machine with its engine provisioned (TLS, running).
dm create -d local host >/dev/null 2>&1 || { echo "bench: cannot create the host" >&2; exit 1; }
ip=$(dm ip host)
key="$BENCH_STORE/machines/host/id_rsa"
# sshd logs one "Starting session: command|shell|subsystem" line per remote
# command only at VERBOSE; "Accepted publickey" (one per connection) is INFO.
sshd_verbose host || { echo "bench: cannot set sshd's LogLevel" >&2; exit 1; }

rows=()
# measure LABEL CMD...: wall time, SYNs this computer sent to port 22 of our
# subnet (iptables), connections and sessions in the host's sshd log.
measure() {
  local label=$1
  shift
  local a0 s0 c0 t took c1 a1 s1 rc=0
  a0=$(sshd_accepted host)
  s0=$(sshd_sessions host)
  c0=$(syn_count)
  t=$(now)
  "$@" >"$BENCH_STORE/last.out" 2>&1 || rc=$?
  took=$(elapsed "$t")
  c1=$(syn_count)
  # Each counting call is one connection and one session itself: between a0
  # and a1 come the s0 and a1 calls, between s0 and s1 the a1 and s1 calls.
  a1=$(sshd_accepted host)
  s1=$(sshd_sessions host)
  [ "$rc" = 0 ] || { note "'$*' failed (exit $rc)"; tail -3 "$BENCH_STORE/last.out" >&2; }
  rows+=("$(printf '%-44s %7s s %5s %9s %9s' "$label" "$took" "$((c1 - c0))" \
    "$((a1 - a0 - 2))" "$((s1 - s0 - 2))")")
}

for r in $(seq "$ROUNDS"); do
  measure "create -d generic (engine there) #$r" dm create -d generic --generic-ip-address "$ip" \
    --generic-ssh-user root --generic-ssh-key "$key" "gen$r"
  measure "provision gen$r #$r" dm provision "gen$r"
  measure "ssh gen$r -- true (reference)" dm ssh "gen$r" -- true
  # Only one record at a time claims the host: rm of a generic machine leaves the host.
  dm rm -y "gen$r" >/dev/null 2>&1
done
measure "provision host (the local machine)" dm provision host

# The engine still answers over TLS after all of this.
eng=$(eval "$(dm env host)"; timeout 30 docker --tlsverify version --format '{{.Server.Version}}' 2>&1)

echo "bench/engine.sh $(date -u +%F) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $("$DMACHINE" version 2>/dev/null | head -1)"
echo "conns: SYNs to port 22 seen in OUTPUT; accepted: sshd 'Accepted publickey'; commands: sshd 'Starting session:'"
printf '%-44s %9s %5s %9s %9s\n' "operation" "wall" "conns" "accepted" "commands"
printf '%s\n' "${rows[@]}"
echo "engine on the host afterwards: $eng"
