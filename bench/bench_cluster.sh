#!/usr/bin/env bash
# Issue 4 figures: wall time of `cluster create` for 1+0, 1+2 and 3+2 nodes on
# the local driver with the image cache warm, its ratio to one `create` (target:
# 3+2 within 1.5x), the SSH connections it opens, and the peak memory of the
# dmachine process. Each figure is the median of 3 runs. It also prints the CPU
# time the whole computer spent (dmachine, and the machines booting systemd,
# sshd, containerd and dockerd): with N cores, CPU/N is a floor for the wall time.
# Issue 9 (C2): one `cluster create` of 5 managers + 45 workers (goal: all 50 Ready in
# <= 90 s on 2 cores) with its phases (machines, init, manager joins, worker joins,
# Ready) as `cluster create` prints them, the load average before and after, and a
# check that `cluster rm` leaves no namespace. It needs about 3 GB of memory.
#   sudo bench/bench_cluster.sh          (DMACHINE=path/to/dmachine to pick a build)
#   sudo bench/bench_cluster.sh big      (only the 5 + 45 case)
source "$(dirname "$0")/bench_lib.sh"
export LOCAL_SUBNET="${LOCAL_SUBNET:-10.213.245.0/24}" LOCAL_BRIDGE="${LOCAL_BRIDGE:-dmbench3}"
runs=3
cores=$(nproc)
# CPU seconds this computer has spent so far (user, nice, system, irq, softirq).
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '/^cpu / {printf "%.2f\n", ($2 + $3 + $4 + $7 + $8) / hz}' /proc/stat; }
# Make sure the engine image exists, so the timings below are warm.
dm create -d local warm >/dev/null 2>&1 || { echo "bench: a warm-up create failed" >&2; exit 1; }
dm rm -y warm >/dev/null

# big_run MANAGERS WORKERS: one timed cluster create with its phases, then cluster rm.
big_run() {
  local name="big" t load_before
  load_before=$(cut -d' ' -f1-3 /proc/loadavg)
  t=$(now)
  "$DMACHINE" cluster create -d local --managers "$1" --workers "$2" "$name" >/dev/null \
    2>"$BENCH_STORE/big.err" || { echo "bench: cluster create $1+$2 failed:" >&2; tail -5 "$BENCH_STORE/big.err" >&2; }
  local wall
  wall=$(elapsed "$t")
  local ready
  ready=$("$DMACHINE" cluster status --format json "$name" 2>/dev/null |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(1 for n in d["Nodes"] if n["Status"] == "Ready"))' 2>/dev/null)
  printf '%-52s %s s\n' "cluster create $1+$2 (one run)" "$wall"
  printf '%-52s %s of %s\n' "  nodes Ready at the end" "${ready:-0}" "$(($1 + $2))"
  sed -n 's/^.*Phases: /  phases: /p' "$BENCH_STORE/big.err"
  grep -E 'Warning|continues in the background|join attempt' "$BENCH_STORE/big.err" | sed 's/^/  | /' | head -10
  printf '%-52s %s -> %s\n' "  load average (1, 5, 15 min) before -> after" "$load_before" "$(cut -d' ' -f1-3 /proc/loadavg)"
  timeout 900 "$DMACHINE" cluster rm -y -f "$name" >/dev/null 2>&1
  printf '%-52s %s\n' "  machines / veths on the bridge after cluster rm" \
    "$(ls "$BENCH_STORE/machines" | wc -l) / $(ip -o link show master "$LOCAL_BRIDGE" 2>/dev/null | wc -l)"
}

if [ "${1:-}" = big ]; then
  printf '%-52s %s\n' "figure (local driver, warm image cache)" "value"
  big_run 5 45
  exit 0
fi

for i in $(seq $runs); do
  c=$(cpu_seconds); t=$(now); dm create -d local "one$i" >/dev/null 2>&1
  echo "$(elapsed "$t") $(echo "$(cpu_seconds) - $c" | bc)"
  dm rm -y "one$i" >/dev/null
done >"$BENCH_STORE/single.runs"

# cluster_run MANAGERS WORKERS: one timed cluster create (prints seconds, SYNs to
# port 22, peak RSS in KB, CPU seconds of the computer), then the cluster is removed.
cluster_run() {
  local name="c$1x$2" before t c
  before=$(syn_count)
  c=$(cpu_seconds)
  t=$(now)
  /usr/bin/time -f %M -o "$BENCH_STORE/rss" "$DMACHINE" cluster create -d local --managers "$1" \
    --workers "$2" "$name" >/dev/null 2>"$BENCH_STORE/$name.err" ||
    { echo "bench: cluster create $1+$2 failed:" >&2; tail -3 "$BENCH_STORE/$name.err" >&2; }
  echo "$(elapsed "$t") $(($(syn_count) - before)) $(tail -1 "$BENCH_STORE/rss") $(echo "$(cpu_seconds) - $c" | bc)"
  dm cluster rm -y "$name" >/dev/null 2>&1
}

printf '%-52s %s\n' "figure (local driver, warm image cache)" "value"
single=$(awk '{print $1}' "$BENCH_STORE/single.runs" | median)
printf '%-52s %s s\n' "create -d local (one machine with engine, median)" "$single"
printf '%-52s %s s\n' "  CPU time of the computer ($cores cores, median)" "$(awk '{print $2}' "$BENCH_STORE/single.runs" | median)"
for shape in "1 0" "1 2" "3 2"; do
  set -- $shape
  for i in $(seq $runs); do cluster_run "$1" "$2"; done >"$BENCH_STORE/runs"
  wall=$(awk '{print $1}' "$BENCH_STORE/runs" | median)
  syns=$(awk '{print $2}' "$BENCH_STORE/runs" | median)
  rss=$(awk '{print $3}' "$BENCH_STORE/runs" | sort -n | tail -1)
  cpu=$(awk '{print $4}' "$BENCH_STORE/runs" | median)
  ratio=$(echo "$wall / $single" | bc -l | awk '{printf "%.2f", $1}')
  printf '%-52s %s s (%sx one create)\n' "cluster create $1+$2 (median of $runs)" "$wall" "$ratio"
  printf '%-52s %s\n' "  SYNs to sshd port 22 ($(($1 + $2)) machines)" "$syns"
  printf '%-52s %s KB\n' "  peak RSS of the dmachine process (max of $runs)" "$rss"
  printf '%-52s %s s (floor for the wall time: %s s)\n' "  CPU time of the computer ($cores cores, median)" "$cpu" \
    "$(echo "$cpu / $cores" | bc -l | awk '{printf "%.2f", $1}')"
done
big_run 5 45
