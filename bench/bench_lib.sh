# Shared by the bench scripts: a private store, subnet and bridge, SYN counting
# for SSH connections, and cleanup. Figures only: nothing here fails on time.
set -uo pipefail
: "${DMACHINE:=dmachine}"
export LOCAL_CACHE_DIR="${LOCAL_CACHE_DIR:-/var/cache/dmachine/local}"
[ "$(id -u)" -eq 0 ] || { echo "bench: run as root (the local driver needs it)" >&2; exit 1; }
BENCH_STORE=$(mktemp -d /tmp/dm-bench.XXXXXX)
export MACHINE_STORAGE_PATH="$BENCH_STORE"
dm() { "$DMACHINE" "$@"; }
now() { date +%s.%N; }
elapsed() { echo "$(now) - $1" | bc | awk '{printf "%.2f\n", $1}'; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# TCP connections to port 22 of the machines: every SYN this computer sends
# there passes OUTPUT, counted by a rule in a chain of our own.
CHAIN="DMB$$"
iptables -w -N "$CHAIN"
iptables -w -I OUTPUT -j "$CHAIN"
iptables -w -A "$CHAIN" -p tcp --dport 22 --syn
syn_count() { iptables -w -L "$CHAIN" -v -x -n | awk 'NR==3 {print $1}'; }

bench_cleanup() {
  local names
  names=$(ls "$BENCH_STORE/machines" 2>/dev/null)
  # shellcheck disable=SC2086
  [ -n "$names" ] && timeout 600 "$DMACHINE" rm -f -y $names >/dev/null 2>&1
  iptables -w -D OUTPUT -j "$CHAIN" 2>/dev/null
  iptables -w -F "$CHAIN" 2>/dev/null
  iptables -w -X "$CHAIN" 2>/dev/null
  rm -rf "$BENCH_STORE"
}
trap bench_cleanup EXIT
