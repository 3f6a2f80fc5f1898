#!/usr/bin/env bash
# Issue 9 C figures: `ls` and `ls -q` over 101 records made from one real
# machine (80 generic records that reach it, 20 at addresses of our own subnet
# that nothing answers, and the local machine itself): wall time, TCP
# connections (SYNs this computer sends), peak RSS, rows Running / Timeout.
#   sudo LOCAL_SUBNET=... LOCAL_BRIDGE=... bench/bench_ls.sh
source "$(dirname "$0")/bench_lib.sh"
export LOCAL_SUBNET="${LOCAL_SUBNET:-10.213.246.0/24}" LOCAL_BRIDGE="${LOCAL_BRIDGE:-dmbench3}"
source "$(dirname "$0")/../tests/e2e/ls_store.sh"
: "${LS_COPIES:=80}" "${LS_UNANSWERING:=20}"

dm create -d local orig >/dev/null 2>&1 || { echo "bench: cannot create the machine" >&2; exit 1; }
ip=$(dm ip orig)
dm create -d generic --generic-ip-address "$ip" --generic-ssh-key "$BENCH_STORE/machines/orig/id_rsa" \
  g00 >/dev/null 2>&1 || { echo "bench: cannot create the generic record" >&2; exit 1; }
ls_make_store g00 "$LS_COPIES" "$LS_UNANSWERING" || exit 1
records=$(ls "$BENCH_STORE/machines" | wc -l)

# SYNs to the machine (by port) and to the unanswering addresses (retransmits included).
first=$(ls_unanswering_ip 1)
last=$(ls_unanswering_ip "$LS_UNANSWERING")
iptables -w -A "$CHAIN" -p tcp -d "$ip" --dport 22 --syn -m comment --comment ls-ssh
iptables -w -A "$CHAIN" -p tcp -d "$ip" --dport 2376 --syn -m comment --comment ls-engine
iptables -w -A "$CHAIN" -p tcp -m iprange --dst-range "$first-$last" --syn -m comment --comment ls-silent
counter() { iptables -w -L "$CHAIN" -v -x -n | awk -v c="/* $1 */" 'index($0, c) {print $1}'; }
counters() { echo "$(counter ls-ssh) $(counter ls-engine) $(counter ls-silent)"; }

# One `ls` measured on its own: wall, SYNs, states.
read -r s0 e0 u0 <<<"$(counters)"
t=$(now)
dm ls >"$BENCH_STORE/ls.out" 2>&1
ls_time=$(elapsed "$t")
read -r s1 e1 u1 <<<"$(counters)"
states() { awk 'NR > 1 {print $4}' "$BENCH_STORE/ls.out" | sort | uniq -c | awk '{printf "%s %s, ", $1, $2}' | sed 's/, $//'; }
running=$(awk 'NR > 1 && $4 == "Running"' "$BENCH_STORE/ls.out" | wc -l)
with_docker=$(awk 'NR > 1 && $4 == "Running" && / v[0-9]/' "$BENCH_STORE/ls.out" | wc -l)
timeouts=$(awk 'NR > 1 && $4 == "Timeout"' "$BENCH_STORE/ls.out" | wc -l)
wrong=$(awk 'NR > 1 && $1 !~ /^u[0-9]/ && $4 != "Running" {print $1 " " $4}' "$BENCH_STORE/ls.out" | head -3 | tr '\n' ';')
for i in 1 2 3; do t=$(now); dm ls >/dev/null 2>&1; elapsed "$t"; done | median >"$BENCH_STORE/ls.t"

# ls -q: the store alone. 21 runs, median, and the SYNs of all of them.
read -r s2 e2 u2 <<<"$(counters)"
for i in $(seq 1 21); do t=$(now); dm ls -q >/dev/null; echo "($(now) - $t) * 1000" | bc; done | median >"$BENCH_STORE/lsq.t"
read -r s3 e3 u3 <<<"$(counters)"
# CPU time per ls -q (user + system, from 21 runs): what a busy computer does not inflate.
TIMEFORMAT='%U %S'
lsq_cpu=$( { time (for i in $(seq 1 21); do "$DMACHINE" ls -q >/dev/null; done); } 2>&1 | awk '{printf "%.1f", ($1 + $2) * 1000 / 21}')
rss_ls=$( { /usr/bin/time -f %M "$DMACHINE" ls >/dev/null; } 2>&1 | tail -1)
rss_lsq=$( { /usr/bin/time -f %M "$DMACHINE" ls -q >/dev/null; } 2>&1 | tail -1)
t=$(now); dm status g01 >/dev/null 2>&1; status_up=$(elapsed "$t")
t=$(now); dm status u01 >/dev/null 2>&1; status_silent=$(elapsed "$t")

printf '%-60s %s\n' "figure" "value"
printf '%-60s %s\n' "records (generic to the machine + unanswering + local)" "$records ($LS_COPIES + $LS_UNANSWERING + 1)"
printf '%-60s %s s\n' "ls, first run" "$ls_time"
printf '%-60s %s s\n' "ls (median of 3 more)" "$(cat "$BENCH_STORE/ls.t")"
printf '%-60s %s\n' "rows by state" "$(states)"
printf '%-60s %s of %s\n' "reachable rows Running (with a DOCKER version)" "$running ($with_docker)" "$((LS_COPIES + 1))"
printf '%-60s %s of %s\n' "unanswering rows Timeout" "$timeouts" "$LS_UNANSWERING"
[ -n "$wrong" ] && printf '%-60s %s\n' "reachable rows not Running (first 3)" "$wrong"
printf '%-60s %s\n' "TCP connections of one ls: engine port / SSH port" "$((e1 - e0)) / $((s1 - s0))"
printf '%-60s %s\n' "SYNs of one ls to the unanswering addresses (retransmits)" "$((u1 - u0))"
printf '%-60s %s KB\n' "peak RSS of ls" "${rss_ls:-n/a}"
printf '%-60s %s ms\n' "ls -q (median of 21)" "$(awk '{printf "%.1f", $1}' "$BENCH_STORE/lsq.t")"
printf '%-60s %s ms\n' "ls -q CPU time, user + system (mean of 21)" "$lsq_cpu"
printf '%-60s %s\n' "TCP connections of 21 ls -q" "$(((s3 - s2) + (e3 - e2) + (u3 - u2)))"
printf '%-60s %s KB\n' "peak RSS of ls -q" "${rss_lsq:-n/a}"
printf '%-60s %s s\n' "status of a reachable generic machine" "$status_up"
printf '%-60s %s s\n' "status of an unanswering generic machine" "$status_silent"
printf '%-60s %s\n' "load average (1, 5, 15 min) at the end" "$(cut -d' ' -f1-3 /proc/loadavg)"
