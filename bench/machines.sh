#!/usr/bin/env bash
# Issue 2 figures: a local create with a warm image cache (median of 3, with and
# without the engine), `ls` over 50 running machines, and the TCP connections
# sshd accepts per `dmachine ssh NAME -- true` and per `dmachine scp` (target:
# one). Prints a table; never fails on time.
#   sudo DMACHINE=build/dmachine bash bench/machines.sh
BENCH_SUBNET=10.213.232.0/24 BENCH_BRIDGE=dmbmach
source "$(dirname "$0")/lib.sh"
TOTAL=${BENCH_MACHINES:-50}
BATCH=${BENCH_BATCH:-10}
rows=()
row() { rows+=("$(printf '%-62s %s' "$1" "$2")"); }

note "store $BENCH_STORE, subnet $LOCAL_SUBNET, bridge $LOCAL_BRIDGE, load $(cut -d' ' -f1-3 /proc/loadavg)"
# One create of each kind first, so the timed ones find the cache warm.
dm create -d local warm1 >/dev/null 2>&1 || { echo "bench: create failed" >&2; exit 1; }
dm create -d local --no-provision warm2 >/dev/null 2>&1
dm rm -y warm1 warm2 >/dev/null 2>&1

note "3 creates with the engine, 3 without"
for i in 1 2 3; do
  t=$(now); dm create -d local "e$i" >/dev/null 2>&1 || note "create e$i failed"; elapsed "$t"
done >"$BENCH_STORE/engine.t"
for i in 1 2 3; do
  t=$(now); dm create -d local --no-provision "n$i" >/dev/null 2>&1 || note "create n$i failed"; elapsed "$t"
done >"$BENCH_STORE/bare.t"
row "create -d local, warm cache, with engine: median (all 3)" \
  "$(median <"$BENCH_STORE/engine.t") s ($(tr '\n' ' ' <"$BENCH_STORE/engine.t"))"
row "create -d local, warm cache, --no-provision: median (all 3)" \
  "$(median <"$BENCH_STORE/bare.t") s ($(tr '\n' ' ' <"$BENCH_STORE/bare.t"))"

# conns LABEL MACHINE... CMD...: connections sshd accepted during CMD, from
# both counters: SYNs this computer sent (iptables OUTPUT, our subnet only) and
# "Accepted publickey" lines in each MACHINE's sshd log.
conns() {
  local label=$1 machines=$2
  shift 2
  local m a0=0 a1=0 c0 c1 t took
  for m in $machines; do a0=$((a0 + $(sshd_accepted "$m"))); done
  c0=$(syn_count)
  t=$(now)
  "$@" >/dev/null 2>&1 || note "'$*' failed"
  took=$(elapsed "$t")
  c1=$(syn_count)
  for m in $machines; do a1=$((a1 + $(sshd_accepted "$m") - 1)); done
  row "$label" "$((c1 - c0)) SYN / $((a1 - a0)) accepted (${took} s)"
}
head -c 10000000 /dev/urandom >"$BENCH_STORE/blob"
note "connections per ssh and scp"
conns "connections per 'dmachine ssh e1 -- true'" e1 dm ssh e1 -- true
conns "connections per 'dmachine ssh e1 -- true' (again)" e1 dm ssh e1 -- true
conns "connections per 'dmachine scp' 10 MB this computer -> e1" e1 dm scp "$BENCH_STORE/blob" e1:/tmp/blob
conns "connections per 'dmachine scp' 10 MB e1 -> this computer" e1 dm scp e1:/tmp/blob "$BENCH_STORE/back"
conns "connections per 'dmachine scp -r' of a directory -> e1" e1 dm scp -r "$BENCH_STORE/certs" e1:/tmp/
conns "connections per scp e1 -> e2 (2 machines, via here)" "e1 e2" dm scp e1:/tmp/blob e2:/tmp/blob
conns "connections per 'dmachine ls' (6 machines)" "e1 n1" dm ls

note "making $TOTAL machines in all (--no-provision, batches of $BATCH)"
have=$(ls "$BENCH_STORE/machines" | wc -l)
i=0
t=$(now)
while [ "$have" -lt "$TOTAL" ]; do
  for _ in $(seq "$BATCH"); do
    [ "$have" -ge "$TOTAL" ] && break
    i=$((i + 1)); have=$((have + 1))
    dm create -d local --no-provision "m$(printf %02d $i)" >/dev/null 2>&1 &
  done
  wait
done
note "made them in $(elapsed "$t") s"
running=$(dm ls --filter state=Running -q | wc -l)
count=$(dm ls -q | wc -l)
for _ in 1 2 3; do t=$(now); dm ls >/dev/null; elapsed "$t"; done >"$BENCH_STORE/ls.t"
for _ in 1 2 3; do t=$(now); dm ls -q >/dev/null; elapsed "$t"; done >"$BENCH_STORE/lsq.t"
for _ in 1 2 3; do t=$(now); dm inspect n1 >/dev/null; elapsed "$t"; done >"$BENCH_STORE/insp.t"
c0=$(syn_count); dm ls >/dev/null; lsc=$(($(syn_count) - c0))
rss=$( { /usr/bin/time -f %M "$DMACHINE" ls >/dev/null; } 2>&1 | tail -1)
row "ls over $count machines ($running running): median of 3" "$(median <"$BENCH_STORE/ls.t") s ($(tr '\n' ' ' <"$BENCH_STORE/ls.t"))"
row "ls -q over $count machines: median of 3" "$(median <"$BENCH_STORE/lsq.t") s"
row "inspect of one machine among $count: median of 3" "$(median <"$BENCH_STORE/insp.t") s"
row "SSH connections per 'ls' over $count machines" "$lsc SYN"
row "peak RSS of 'ls' over $count machines" "${rss:-n/a} KB"

echo "bench/machines.sh $(date -u +%F) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $("$DMACHINE" version 2>/dev/null | head -1)"
printf '%-62s %s\n' "figure" "value"
printf '%s\n' "${rows[@]}"
