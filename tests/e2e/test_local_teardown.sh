#!/usr/bin/env bash
# e2e: a local machine's teardown. A create killed (SIGKILL) right after it
# launched the host, then `rm -f`: no process of the machine may survive (found
# by its cgroup subtree), nor its namespace. A store path with a space and shell
# metacharacters: create, ssh and rm work. Something mounted inside a machine's
# directory is unmounted by rm, never deleted through.
source "$(dirname "$0")/lib.sh"
e2e_init
S="$E2E_STORE"
work=$(mktemp -d)
odd="$work/odd store \$x'y"
e2e_on_exit 'umount -l "$odd/machines/odd/local/upper/mnt" 2>/dev/null
  [ -d "$odd/machines/odd" ] && timeout 120 "$DMACHINE" -s "$odd" rm -f odd >/dev/null 2>&1
  rm -rf "$work"'

# PIDs of live (not zombie) processes of a machine: in its cgroup subtree dmachine/<ID>,
# or running something from its directory DIR (the launcher before it joined a cgroup).
machine_pids() {
  local id=$1 dir=$2 f cmd
  for f in /proc/[0-9]*; do
    [ "$(awk '{print $3}' "$f/stat" 2>/dev/null)" = Z ] && continue
    { cmd=$(tr '\0' ' ' <"$f/cmdline"); } 2>/dev/null || continue
    if grep -q "/dmachine/$id" "$f/cgroup" 2>/dev/null || [[ $cmd == *"$dir/"* ]]; then
      echo "${f#/proc/}"
    fi
  done
}
machine_id() { grep -o '"Netns": *"dm-[0-9a-f]*"' "$1/config.json" | grep -o '[0-9a-f]\{8\}"' | tr -d '"'; }

log "create killed right after the launch, then rm -f"
for round in 1 2 3; do
  "$DMACHINE" create -d local --no-provision "orphan$round" >"$work/create.out" 2>&1 &
  create=$!
  dir="$S/machines/orphan$round"
  for _ in $(seq 1 30000); do
    [ -e "$dir/local/console.log" ] && break
    kill -0 "$create" 2>/dev/null || break
    sleep 0.02
  done
  [ -e "$dir/local/console.log" ] || { failed "round $round: the host was never launched"; cat "$work/create.out"; continue; }
  id=$(machine_id "$dir")
  if [ "$round" = 1 ]; then
    # A slow boot: the host's processes stop (SIGSTOP) as soon as they are in its cgroup,
    # before systemd, so no PID file is written.
    pids=""
    for _ in $(seq 1 500); do
      pids=$(find /sys/fs/cgroup/*/dmachine/"$id" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u)
      [ -n "$pids" ] && break
      sleep 0.01
    done
    # shellcheck disable=SC2086
    [ -n "$pids" ] && kill -STOP $pids
  else
    # Later rounds wait a little longer: the kill lands at another step of the boot.
    sleep "0.$((round * 2 - 2))"
  fi
  kill -9 "$create"
  wait "$create" 2>/dev/null
  [ -n "$id" ] || { failed "round $round: no id in the record"; continue; }
  out=$(timeout 120 "$DMACHINE" rm -f "orphan$round" 2>&1)
  check_eq "round $round: rm -f removes the killed create, machine included" "Successfully removed orphan$round" "$out"
  check_eq "round $round: no process of the machine is left" "" "$(machine_pids "$id" "$dir")"
  check_eq "round $round: its cgroups are gone" "" "$(ls -d /sys/fs/cgroup/*/dmachine/"$id" 2>/dev/null)"
  check_eq "round $round: its namespace is gone" "" "$(ip netns list | grep "dm-$id")"
done

log "kill of a running machine leaves no process"
check_exit "create k1" 0 dm create -d local --no-provision k1
id=$(machine_id "$S/machines/k1")
check_exit "kill k1" 0 dm kill k1
check_eq "kill: no process of k1 is left" "" "$(machine_pids "$id" "$S/machines/k1")"
check_exit "rm k1" 0 dm rm -y k1

log "a store path with a space and shell metacharacters"
mkdir -p "$odd"
check_exit "create in '$odd'" 0 dm -s "$odd" create -d local --no-provision odd
check_eq "ssh in that store" "hi" "$(dm -s "$odd" ssh odd -- echo hi 2>&1)"
check_eq "ls in that store" "Running" "$(dm -s "$odd" ls --format '{{.State}}' 2>&1)"
mkdir -p "$work/precious" "$odd/machines/odd/local/upper/mnt"
echo keep >"$work/precious/file"
mount --bind "$work/precious" "$odd/machines/odd/local/upper/mnt"
check_exit "rm -f with a mount inside the machine's directory" 0 dm -s "$odd" rm -f odd
check_eq "the mounted directory was not deleted through" "keep" "$(cat "$work/precious/file" 2>&1)"
check_eq "nothing stays mounted under the store" "" "$(grep -F "$(printf '%s' "$work" | sed 's/ /\\040/g')" /proc/self/mountinfo)"
check_eq "the machine is gone" "" "$(ls "$odd/machines" 2>&1)"
e2e_finish
