#!/usr/bin/env bash
# e2e: kill -9 at every step. dmachine is SIGKILLed at growing offsets across a whole
# `create` (local and generic), `rm` and `cluster create` (1 manager + 1 worker); after
# each kill, `ls` still loads the store (exit 0, the machine an Error or a normal row),
# and `rm -f -y` leaves nothing behind: no namespace, veth, IP lease, mount, process
# (by root, cwd or cgroup), cgroup directory, iptables rule naming a host address of
# the subnet, or directory. What a step leaves is removed by this suite afterwards,
# so the next step starts clean. Run time: about 3 minutes on an idle computer (a local
# create takes ~5 s there; the offsets scale with the measured create time).
source "$(dirname "$0")/lib.sh"
e2e_init

S=$E2E_STORE
prefix=${LOCAL_SUBNET%.0/*}.
leases=/var/lib/dmachine/local/$LOCAL_BRIDGE/leases
# A host address of the subnet (.2-.254), as it appears in an iptables rule.
host_ip_re="${prefix//./\\.}([2-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-4])([^0-9]|$)"

# The local driver's id of a machine: FNV-1a (32 bit) of its directory.
machine_id() {
  local text="$S/machines/$1" hash=2166136261 i c
  for ((i = 0; i < ${#text}; i++)); do
    printf -v c '%d' "'${text:i:1}"
    hash=$(((hash ^ c) * 16777619 & 0xffffffff))
  done
  printf '%08x' "$hash"
}

# Processes of machine NAME: root or cwd in its directory, or in its cgroup subtree.
machine_pids() {
  local dir="$S/machines/$1" id
  id=$(machine_id "$1")
  local p root cwd
  for p in /proc/[0-9]*; do
    root=$(readlink "$p/root" 2>/dev/null) || continue
    cwd=$(readlink "$p/cwd" 2>/dev/null)
    case "$root/|$cwd/" in
    "$dir"/* | *"|$dir"/*) echo "${p#/proc/}"; continue ;;
    esac
    grep -qs "/dmachine/$id\(/\|$\)" "$p/cgroup" && echo "${p#/proc/}"
  done
}

# Prints what machine NAME left on this computer, one item a line; nothing when clean.
leftovers() {
  local name=$1 dir="$S/machines/$1" id
  id=$(machine_id "$name")
  [ -e "$dir" ] && echo "directory $dir"
  ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "dm-$id" && echo "netns dm-$id"
  ip link show "dmv$id" >/dev/null 2>&1 && echo "veth dmv$id"
  grep -qsF " $dir" "$leases" && echo "lease: $(grep -F " $dir" "$leases")"
  grep -F "$dir" /proc/self/mountinfo | awk '{print "mount " $5}'
  local pids
  pids=$(machine_pids "$name")
  [ -n "$pids" ] && echo "processes:" $pids
  find /sys/fs/cgroup -maxdepth 4 -type d -path "*/dmachine/$id" 2>/dev/null | sed 's/^/cgroup /'
  iptables-save 2>/dev/null | grep -E -- "$host_ip_re" | sed 's/^/iptables /'
}

# Removes what a failed step left, so the next step starts clean (only this suite's
# own machine: its processes by PID, mounts under its directory, its netns and veth,
# its lease line).
force_clean() {
  local name=$1 dir="$S/machines/$1" id pid
  id=$(machine_id "$name")
  for pid in $(machine_pids "$name"); do
    kill -9 "$pid" 2>/dev/null
  done
  sleep 0.5
  grep -F "$dir" /proc/self/mountinfo | awk '{print $5}' | sort -r | while read -r point; do
    umount -l "$point" 2>/dev/null
  done
  ip netns del "dm-$id" 2>/dev/null
  ip link del "dmv$id" 2>/dev/null
  if [ -f "$leases" ]; then
    grep -vF " $dir" "$leases" >"$leases.k9" ; cat "$leases.k9" >"$leases"; rm -f "$leases.k9"
  fi
  find /sys/fs/cgroup -maxdepth 4 -depth -type d -path "*/dmachine/$id*" -exec rmdir {} \; 2>/dev/null
  rm -rf "$dir"
}

# check_clean WHAT NAME...: nothing left by those machines (else force_clean them).
check_clean() {
  local what=$1 name item left=""
  shift
  for name in "$@"; do
    item=$(leftovers "$name")
    [ -n "$item" ] && left+="$item"$'\n'
  done
  if [ -z "$left" ]; then
    pass "$what: rm -f leaves nothing"
  else
    failed "$what: rm -f leaves nothing"
    printf '%s' "$left" | sed 's/^/  | /'
    for name in "$@"; do
      force_clean "$name"
    done
  fi
}

# check_ls WHAT NAME...: ls exits 0 and shows each machine whose directory exists.
check_ls() {
  local what=$1 name out code
  shift
  out=$(timeout 120 "$DMACHINE" ls 2>&1)
  code=$?
  if [ "$code" -ne 0 ]; then
    failed "$what: ls exits 0 (exit $code)"
    printf '%s\n' "$out" | tail -5 | sed 's/^/  | /'
    return
  fi
  for name in "$@"; do
    if [ -d "$S/machines/$name" ] && ! printf '%s\n' "$out" | grep -q "^$name "; then
      failed "$what: ls shows $name (its directory exists)"
      printf '%s\n' "$out" | sed 's/^/  | /'
      return
    fi
  done
  pass "$what: ls exits 0 and shows the machine"
}

# run_killed SECONDS CMD...: starts CMD, SIGKILLs it after SECONDS; returns 0 when it
# was killed, 1 when it had finished before.
run_killed() {
  local after=$1
  shift
  "$@" >/tmp/dm-e2e-kill9.out 2>&1 &
  local pid=$!
  sleep "$after"
  if kill -9 "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null
    return 0
  fi
  wait "$pid" 2>/dev/null
  return 1
}

# Offsets (s) across a run of about DURATION seconds: dense at the start, then even steps.
offsets() {
  local duration=$1
  awk -v d="$duration" 'BEGIN {
    n = split("0.2 0.6 1.2 2.0", t, " ");
    for (i = 1; i <= n && t[i] < d; i++) printf "%s ", t[i];
    step = (d - 2) / 4; if (step < 1) step = 1;
    for (x = 2 + step; x < d; x += step) printf "%.1f ", x;
  }'
}

# kill_create WHAT NAME DURATION CREATE-ARGS...: kills `create` at every offset.
kill_create() {
  local what=$1 name=$2 duration=$3 t
  shift 3
  for t in $(offsets "$duration"); do
    if ! run_killed "$t" "$DMACHINE" create "$@" "$name"; then
      log "$what: create finished before ${t}s"
      timeout 300 "$DMACHINE" rm -f -y "$name" >/dev/null 2>&1
      check_clean "$what (finished)" "$name"
      break
    fi
    check_ls "$what killed at ${t}s" "$name"
    timeout 300 "$DMACHINE" rm -f -y "$name" >/tmp/dm-e2e-last.out 2>&1
    check_clean "$what killed at ${t}s" "$name"
  done
}

# How long a create takes here (the load of the computer changes it).
timed_create() {
  local started=$SECONDS
  dm create "$@" >/dev/null 2>&1 || return 1
  echo $((SECONDS - started + 1))
}

log "local: one full create for its duration"
local_args=(-d local)
d_local=$(timed_create "${local_args[@]}" k9l) || failed "a plain local create works"
d_local=${d_local:-10}
log "local create takes about ${d_local}s"

# The detector must see a live machine, or every "leaves nothing" below means nothing.
# (A host's own mounts live in its mount namespace, which its processes keep alive; the
# mount check catches mounts leaked into this computer's namespace.)
live=$(leftovers k9l)
for item in directory netns veth lease processes cgroup; do
  check_contains "a live machine's $item is seen by this suite" "$item" "$live"
done

log "rm killed at 0.2 and 1.0 s (the machine made again before each)"
for t in 0.2 1.0; do
  if [ ! -d "$S/machines/k9l" ]; then
    dm create "${local_args[@]}" k9l >/dev/null 2>&1 || failed "create k9l again"
  fi
  run_killed "$t" "$DMACHINE" rm -f -y k9l || log "rm finished before ${t}s"
  check_ls "rm killed at ${t}s" k9l
  timeout 300 "$DMACHINE" rm -f -y k9l >/dev/null 2>&1
  check_clean "rm killed at ${t}s" k9l
done

log "local create killed at $(offsets "$d_local")"
kill_create "local create" k9l "$d_local" "${local_args[@]}"

log "generic: a local host with an engine, then generic creates killed on it"
if dm create -d local --no-provision k9host >/dev/null 2>&1; then
  generic_args=(-d generic --generic-ip-address "$(dm ip k9host)" --generic-ssh-key "$S/machines/k9host/id_rsa")
  d_generic=$(timed_create "${generic_args[@]}" k9g) || failed "a plain generic create works"
  d_generic=${d_generic:-10}
  timeout 300 "$DMACHINE" rm -f -y k9g >/dev/null 2>&1
  log "generic create takes about ${d_generic}s; killed at $(offsets "$d_generic")"
  kill_create "generic create" k9g "$d_generic" "${generic_args[@]}"
  timeout 300 "$DMACHINE" rm -f -y k9host >/dev/null 2>&1
  check_clean "the generic target host" k9host
else
  failed "create the generic target host"
fi

log "cluster create (1 manager + 1 worker) killed"
for t in 1.0 5.0 12.0; do
  if ! run_killed "$t" "$DMACHINE" cluster create -d local --managers 1 --workers 1 k9c; then
    log "cluster create finished before ${t}s"
  fi
  check_ls "cluster create killed at ${t}s" k9c-manager-1 k9c-worker-1
  check_exit "cluster create killed at ${t}s: cluster ls exits 0" 0 timeout 60 "$DMACHINE" cluster ls
  timeout 300 "$DMACHINE" cluster rm -f -y k9c >/dev/null 2>&1
  timeout 300 "$DMACHINE" rm -f -y k9c-manager-1 k9c-worker-1 >/dev/null 2>&1
  [ -e "$S/clusters/k9c" ] && failed "cluster create killed at ${t}s: cluster rm -f removes the cluster record"
  check_clean "cluster create killed at ${t}s" k9c-manager-1 k9c-worker-1
done

e2e_finish
