# Shared by bench/machines.sh and bench/engine.sh: a private store, subnet and
# bridge, timing helpers, two independent counters of SSH connections, and a
# cleanup that removes every machine made. Figures only: nothing here fails on
# time. Each script sets BENCH_SUBNET/BENCH_BRIDGE defaults before sourcing.
set -uo pipefail
: "${DMACHINE:=dmachine}"
command -v "$DMACHINE" >/dev/null || { echo "bench: set DMACHINE to the dmachine binary" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "bench: run as root (the local driver needs it)" >&2; exit 1; }
export LOCAL_CACHE_DIR="${LOCAL_CACHE_DIR:-/var/cache/dmachine/local}"
export LOCAL_SUBNET="${LOCAL_SUBNET:-$BENCH_SUBNET}" LOCAL_BRIDGE="${LOCAL_BRIDGE:-$BENCH_BRIDGE}"
BENCH_STORE=$(mktemp -d /tmp/dm-bench.XXXXXX)
export MACHINE_STORAGE_PATH="$BENCH_STORE"

dm() { timeout 300 "$DMACHINE" "$@"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.2f\n", b - a}'; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : "n/a")}'; }
note() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# Counter 1 (this computer's side): every TCP SYN to port 22 of an address in
# our own subnet passes OUTPUT (connections from this computer to a machine);
# a rule in a chain of our own counts them. Other benches on other subnets do
# not disturb it.
CHAIN="DMB$$"
iptables -w -N "$CHAIN"
iptables -w -I OUTPUT -j "$CHAIN"
iptables -w -A "$CHAIN" -p tcp -d "$LOCAL_SUBNET" --dport 22 --syn
syn_count() { iptables -w -L "$CHAIN" -v -x -n | awk 'NR==3 {print $1}'; }

# Counter 2 (the machine's side): sshd's own log. "Accepted publickey" is an
# INFO line per authenticated connection; "Starting session:" is a VERBOSE line
# per exec/shell/subsystem request (needs LogLevel VERBOSE, see sshd_verbose).
# Each call of these is itself one connection and one session, logged before
# grep runs: a before/after difference therefore counts the "after" call too.
# The short sleep lets the lines of the measured call reach the journal first.
sshd_accepted() { sleep 0.3; dm ssh "$1" -- "journalctl -u ssh --no-pager -o cat | grep -c 'Accepted publickey'"; }
sshd_sessions() { sleep 0.3; dm ssh "$1" -- "journalctl -u ssh --no-pager -o cat | grep -c 'Starting session:'"; }
sshd_verbose() {
  dm ssh "$1" -- 'echo "LogLevel VERBOSE" >/etc/ssh/sshd_config.d/00-bench.conf && systemctl reload ssh' &&
    sleep 0.5
}

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
trap 'exit 130' INT TERM
