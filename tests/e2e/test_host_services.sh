#!/usr/bin/env bash
# e2e: scripts/install-deps.sh (run by the README's two commands and by CI)
# leaves every service of the computer as it was. It runs inside real systemd
# hosts: one that has openssh-server and Debian's docker.io (sshd is how we are
# connected), one without a docker client (the script unpacks the client alone
# and must not bring dockerd). Before and after, every unit's load/active/sub
# state and every unit file's enablement must be identical.
source "$(dirname "$0")/lib.sh"
e2e_init

# Every unit and unit file with its state; our own SSH sessions' scopes change
# with every connection and are left out.
unit_states() {
  dm ssh "$1" -- "systemctl list-units --all --no-legend --plain --no-pager | awk '{print \$1, \$2, \$3, \$4}' |
    grep -v -E '^(session-[0-9]+\\.scope|user@|user-|run-)' | sort;
    systemctl list-unit-files --no-legend --no-pager | awk '{print \$1, \$2}' | sort"
}

run_install_deps() {
  local machine=$1
  check_exit "copy install-deps.sh into $machine" 0 dm scp "$DM_SOURCE_DIR/scripts/install-deps.sh" "$machine:/root/install-deps.sh"
  # A short package list that is not installed yet, so apt really runs.
  check_exit "install-deps.sh runs in $machine" 0 dm ssh "$machine" -- \
    "DMACHINE_DEPS_PACKAGES='bc' bash /root/install-deps.sh"
}

log "a host with openssh-server and docker.io (the image's engine)"
check_exit "create svc1" 0 dm create -d local --no-provision svc1
before=$(unit_states svc1)
check_contains "svc1: ssh.service runs before" "ssh.service loaded active running" "$before"
run_install_deps svc1
after=$(unit_states svc1)
check_eq "svc1: every unit and unit file keeps its state" "$before" "$after"
check_eq "svc1: ssh.service still enabled" "enabled" "$(dm ssh svc1 -- systemctl is-enabled ssh.service)"
check_exit "svc1: the package was installed" 0 dm ssh svc1 -- command -v bc

log "a host without a docker client"
check_exit "create svc2 (debian image, no engine)" 0 dm create -d local --local-image debian --no-provision svc2
check_exit "svc2 has no docker client yet" 1 dm ssh svc2 -- command -v docker
before=$(unit_states svc2)
run_install_deps svc2
after=$(unit_states svc2)
check_eq "svc2: every unit and unit file keeps its state" "$before" "$after"
check_contains "svc2: the docker client works" "Docker version" "$(dm ssh svc2 -- docker --version)"
check_exit "svc2: no dockerd runs" 1 dm ssh svc2 -- pgrep -x dockerd
check_exit "svc2: no docker.service unit was added" 1 dm ssh svc2 -- test -e /lib/systemd/system/docker.service

# The same scripts run on the user's computer: none of them may touch a service.
check_exit "scripts/ never stop, disable, mask or restart a service" 1 \
  grep -n -E 'systemctl +(stop|disable|mask|restart|reload)|--now|service +[a-z]+ +(stop|restart)' \
  "$DM_SOURCE_DIR"/scripts/*.sh

dm rm -f -y svc1 svc2 >/dev/null 2>&1
e2e_finish
