#!/usr/bin/env bash
# Issue 2 figures: a local create with a warm image cache (with and without the
# engine), ls over 50 machines, and the TCP connections one `dmachine ssh` and
# one `dmachine scp` open to sshd (target: one).
#   sudo bench/bench_machines.sh          (DMACHINE=path/to/dmachine to pick a build)
source "$(dirname "$0")/bench_lib.sh"
export LOCAL_SUBNET="${LOCAL_SUBNET:-10.213.244.0/24}" LOCAL_BRIDGE="${LOCAL_BRIDGE:-dmbench1}"
# Make sure both images exist, so the timings below are warm.
dm create -d local --local-image debian --no-provision warm1 >/dev/null 2>&1
dm create -d local warm2 >/dev/null 2>&1
dm rm -y warm1 warm2 >/dev/null

for i in 1 2 3; do
  t=$(now); dm create -d local "e$i" >/dev/null 2>&1; elapsed "$t"
done | median >"$BENCH_STORE/engine.t"
for i in 1 2 3; do
  t=$(now); dm create -d local --local-image debian --no-provision "n$i" >/dev/null 2>&1; elapsed "$t"
done | median >"$BENCH_STORE/bare.t"

# sshd's own count of accepted sessions (the counting call is one of them).
accepted() { dm ssh "$1" -- "journalctl -u ssh --no-pager -o cat | grep -c 'Accepted publickey'"; }
a0=$(accepted e1); before=$(syn_count); dm ssh e1 -- true; ssh_conns=$(($(syn_count) - before)); ssh_acc=$(($(accepted e1) - a0 - 1))
head -c 10000000 /dev/urandom >"$BENCH_STORE/blob"
a0=$(accepted e1); before=$(syn_count); t=$(now); dm scp "$BENCH_STORE/blob" e1:/tmp/blob; scp_time=$(elapsed "$t"); scp_conns=$(($(syn_count) - before)); scp_acc=$(($(accepted e1) - a0 - 1))
a1=$(accepted e1); a2=$(accepted e2); before=$(syn_count); dm scp e1:/tmp/blob e2:/tmp/blob; m2m_conns=$(($(syn_count) - before))
m2m_acc="$(($(accepted e1) - a1 - 1)) + $(($(accepted e2) - a2 - 1))"
before=$(syn_count); dm ls >/dev/null; ls_conns=$(($(syn_count) - before))

# 50 machines: 44 more light ones (no engine), in batches of 11.
for batch in 0 1 2 3; do
  for i in $(seq 1 11); do dm create -d local --local-image debian --no-provision "m$batch$i" >/dev/null 2>"$BENCH_STORE/m$batch$i.err" || tail -1 "$BENCH_STORE/m$batch$i.err" >&2 & done
  wait
done
count=$(dm ls -q | wc -l)
running=$(dm ls -q --filter state=Running | wc -l)
[ "$running" -eq 50 ] || echo "bench: only $running of 50 machines are running" >&2
for i in 1 2 3; do t=$(now); dm ls >/dev/null; elapsed "$t"; done | median >"$BENCH_STORE/ls.t"
for i in 1 2 3; do t=$(now); dm ls -q >/dev/null; elapsed "$t"; done | median >"$BENCH_STORE/lsq.t"
rss=$( { /usr/bin/time -f %M "$DMACHINE" ls >/dev/null; } 2>&1 | tail -1)

printf '%-58s %s\n' "figure" "value"
printf '%-58s %s s\n' "create -d local, warm cache, with engine (median of 3)" "$(cat "$BENCH_STORE/engine.t")"
printf '%-58s %s s\n' "create -d local, warm cache, --no-provision (median of 3)" "$(cat "$BENCH_STORE/bare.t")"
printf '%-58s %s s\n' "ls over $count machines, $running running (median of 3)" "$(cat "$BENCH_STORE/ls.t")"
printf '%-58s %s s\n' "ls -q over $count machines (median of 3)" "$(cat "$BENCH_STORE/lsq.t")"
printf '%-58s %s KB\n' "peak RSS of ls over $count machines" "${rss:-n/a}"
printf '%-58s %s\n' "SSH sessions sshd accepted per 'dmachine ssh NAME -- true'" "$ssh_acc"
printf '%-58s %s\n' "  (SYN packets sent to port 22, retransmits included)" "$ssh_conns"
printf '%-58s %s (%s s)\n' "SSH sessions sshd accepted per 'dmachine scp' of 10 MB" "$scp_acc" "$scp_time"
printf '%-58s %s\n' "  (SYN packets sent to port 22, retransmits included)" "$scp_conns"
printf '%-58s %s\n' "sessions accepted per machine-to-machine scp (each side)" "$m2m_acc"
printf '%-58s %s\n' "TCP connections to sshd per 'dmachine ls'" "$ls_conns"
