#!/usr/bin/env bash
# e2e: swarm-mode clusters on real local machines. Refusals before anything is
# made; a node failing part-way leaves nothing; 3 managers + 2 workers from the
# example cluster file; a 6-replica service of a locally made image answering on
# every node's IP; the leader killed (quorum held, env moves, tasks come back)
# and started again; add a worker, remove-node another; cluster rm leaves nothing.
# With one manager: rm warns, promote says "already", a join that hangs ends on Ctrl-C
# (exit 130) and one that goes on in the background is waited for, cluster ls agrees
# with status, cluster rm leaves a machine of a member's name it did not make.
source "$(dirname "$0")/lib.sh"
e2e_init
command -v docker >/dev/null || skip "the docker client is missing (apt-get install docker.io)"
command -v python3 >/dev/null || skip "python3 is missing (apt-get install python3)"
command -v curl >/dev/null || skip "curl is missing (apt-get install curl)"
work=$(mktemp -d)
e2e_on_exit 'rm -rf "$work"; timeout 300 "$DMACHINE" cluster rm -f demo >/dev/null 2>&1'

# json_get EXPR < json   (EXPR in Python over the parsed document d)
json_get() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
status_json() { dm cluster status --format json demo 2>/dev/null; }
# running_tasks [EXCEPT_NODE]: tasks of service web running, not counting EXCEPT_NODE's
running_tasks() {
  (eval "$(dm cluster env --shell bash demo)" &&
    docker service ps web --filter desired-state=running --format '{{.Node}} {{.CurrentState}}') |
    grep -v "^${1:-none} " | grep -c ' Running' || true
}
# wait_for SECONDS DESCRIPTION COMMAND...: polls every 2 s (bounded)
wait_for() {
  local seconds=$1 description=$2 started=$SECONDS
  shift 2
  while [ $((SECONDS - started)) -lt "$seconds" ]; do
    if "$@" >/dev/null 2>&1; then
      pass "$description [$((SECONDS - started))s]"
      return 0
    fi
    sleep 2
  done
  failed "$description (not within ${seconds}s)"
  return 1
}


log "refusals before anything is made"
check_exit "cluster without a subcommand exits 1" 1 dm cluster
check_contains "and lists the subcommands" "remove-node" "$(dm cluster 2>&1)"
check_exit "cluster create without a name" 1 dm cluster create
check_exit "cluster status of a missing cluster" 1 dm cluster status nope
check_contains "says it does not exist" 'Cluster "nope" does not exist' "$(dm cluster status nope 2>&1)"
printf 'name: x\ngroups:\n  - role: manager\n    cuont: 1\n' >"$work/typo.yml"
check_contains "a typo in a cluster file is named" 'unknown key "cuont"' "$(dm cluster create -f "$work/typo.yml" 2>&1)"
check_contains "zero managers refused" "at least one manager" "$(dm cluster create --managers 0 --workers 1 z 2>&1)"
check_contains "an even manager count warns about quorum" "even number of managers (2)" \
  "$(dm cluster create --managers 2 --local-image no-such-image w 2>&1)"
check_eq "nothing made by the refusals" "" "$(dm ls -q; dm cluster ls -q)"

log "a node failing part-way: the error names it, nothing is left"
cat >"$work/bad.yml" <<'YML'
name: bad
driver: local
groups:
  - role: manager
    count: 1
  - role: worker
    names:
      - name: bad-w1
        driver_options: {local-image: no-such-image}
YML
out=$(dm cluster create -f "$work/bad.yml" 2>&1)
check_contains "the failing node is named" 'node "bad-w1"' "$out"
check_contains "the failing step is named" "pre-create check" "$out"
check_eq "no machine and no cluster left" "" "$(dm ls -q; dm cluster ls -q)"

log "one manager (a 3-manager file overridden by --managers 1): it cannot be removed or demoted; a promotion to 2 managers warns"
cat >"$work/solo.yml" <<'YML'
name: solo
driver: local
driver_options: {local-memory: 700}
groups:
  - role: manager
    count: 3
  - role: worker
    count: 1
YML
out=$(LOCAL_MEMORY=600 dm -D cluster create -f "$work/solo.yml" --managers 1 2>&1)
check_eq "cluster create -f solo.yml --managers 1 (flags override the file)" "0" "$?"
check_contains "--debug shows each remote command with its exit status" "[debug] ssh: root@" "$out"
check_contains "--debug shows the worker's swarm join" "/swarm/join -> 200" "$out"
check_contains "--debug shows driver calls" "[debug] driver: local create() -> ok" "$out"
check_eq "--debug shows no join token and no private key" "0" \
  "$(printf '%s\n' "$out" | grep -cE 'SWMTKN-1-[A-Za-z0-9]|PRIVATE KEY')"
check_contains "1 manager and 1 worker" "1 manager(s), 1 worker(s)" "$out"
check_eq "the file's driver option beats the environment's" "700 700" \
  "$(dm inspect --format '{{.Driver.Memory}}' solo-manager-1) $(dm inspect --format '{{.Driver.Memory}}' solo-worker-1)"
check_contains "cluster create prints its phases" "Phases: machines" "$out"
check_contains "remove-node of the only manager is refused" "is the only manager of cluster" \
  "$(dm cluster remove-node solo solo-manager-1 2>&1)"
check_contains "demote of the only manager is refused" "is the only manager of cluster" \
  "$(dm cluster demote solo solo-manager-1 2>&1)"
out=$(echo n | dm rm solo-manager-1 2>&1)
check_contains "rm of the only manager warns" 'solo-manager-1 is the only manager of cluster "solo"' "$out"
check_contains "and asks before removing anything" "Are you sure?" "$out"
out=$(dm cluster promote solo solo-manager-1 2>&1)
check_contains "promoting a manager says it already is one" "Node solo-manager-1 is already a manager" "$out"
check_eq "and not that it is now one" "0" "$(grep -c 'is now a manager' <<<"$out")"

log "joins that hang: Ctrl-C ends them at once; one that goes on in the background is waited for"
mgr_netns=$(dm inspect --format '{{.Driver.Netns}}' solo-manager-1)
block_joins() { ip netns exec "$mgr_netns" iptables -w "$1" INPUT -p tcp --dport 2377 -j DROP; }
# wait_line SECONDS FILE TEXT: until FILE has TEXT (bounded)
wait_line() { local i; for i in $(seq $(($1 * 2))); do grep -q -- "$3" "$2" && return 0; sleep 0.5; done; return 1; }
block_joins -I
# Started directly (not through the dm function), so that $! is dmachine itself.
"$DMACHINE" cluster add solo --workers 1 >"$work/add1.out" 2>"$work/add1.err" &
add_pid=$!
if wait_line 120 "$work/add1.err" "machines: 1 new: done"; then
  sleep 3 # the join is waiting for the manager now
  sent=$SECONDS
  kill -INT "$add_pid"
  wait "$add_pid"
  code=$?
  check_eq "Ctrl-C during a join exits 130" "130" "$code"
  check_contains "and says it was interrupted" "interrupted" "$(tail -3 "$work/add1.err")"
  [ $((SECONDS - sent)) -le 8 ] && pass "and within 8 s ($((SECONDS - sent)) s)" ||
    failed "Ctrl-C took $((SECONDS - sent)) s to take effect"
else
  failed "cluster add did not reach the join"; kill -INT "$add_pid"; wait "$add_pid"
fi
check_eq "the interrupted add left no machine" "solo-manager-1 solo-worker-1" "$(dm ls -q | xargs)"
"$DMACHINE" cluster add solo --workers 1 >"$work/add2.out" 2>"$work/add2.err" &
add_pid=$!
wait_line 150 "$work/add2.err" "continues in the background" &&
  pass "the engine's join timeout is reported as a join going on in the background" ||
  failed "no join in the background reported"
block_joins -D
wait "$add_pid"
check_eq "that add succeeds once the manager answers" "0" "$?"
sed 's/^/  | /' "$work/add2.err" | grep -E 'background|join|Ready' | head -5
check_contains "and the node is Ready" "solo-worker-2 Ready" \
  "$(eval "$(dm cluster env --shell bash solo)"; docker node ls --format '{{.Hostname}} {{.Status}}')"

log "cluster ls agrees with status when the only manager is down"
check_exit "stop solo-manager-1" 0 dm stop solo-manager-1
check_eq "cluster ls: Error" "Error" "$(dm cluster ls | awk '$1 == "solo" {print $5}')"
check_contains "cluster ls says why" "Leader: none" "$(dm cluster ls)"
check_exit "cluster status exits 1 too" 1 dm cluster status solo
check_exit "start solo-manager-1" 0 dm start solo-manager-1
ls_ready() { [ "$(dm cluster ls | awk '$1 == "solo" {print $5}')" = Ready ]; }
wait_for 90 "cluster ls: Ready again" ls_ready
check_contains "promote to 2 managers warns about quorum" "even number of managers (2)" \
  "$(dm cluster promote solo solo-worker-1 2>&1)"
check_contains "status: 2 managers survive no failure" "2/2 managers reachable (needs 2): held; survives 0" \
  "$(dm cluster status solo)"
log "cluster rm removes only the machines the cluster made"
check_exit "a member's machine removed outside the cluster" 0 dm rm -y solo-worker-2
check_exit "and a machine of its name made by someone else" 0 dm create -d local --no-provision solo-worker-2
out=$(dm cluster rm -y solo 2>&1)
check_eq "cluster rm -y solo" "0" "$?"
check_contains "says it leaves that machine" 'Machine "solo-worker-2" was not made by cluster "solo": left as it is' "$out"
check_eq "the other machine is still there" "solo-worker-2" "$(dm ls -q)"
check_exit "rm it" 0 dm rm -y solo-worker-2
check_eq "nothing left of solo" "" "$(dm ls -q; dm cluster ls -q)"

log "3 managers + 2 workers from examples/cluster-3m2w.yml"
started=$SECONDS
failed_before=$E2E_FAILED
check_exit "cluster create -f examples/cluster-3m2w.yml" 0 dm cluster create -f "$DM_SOURCE_DIR/examples/cluster-3m2w.yml"
if [ "$E2E_FAILED" -gt "$failed_before" ]; then
  log "stopping here: every later check needs the cluster"
  e2e_finish
  exit 1
fi
log "cluster create took $((SECONDS - started)) s"
(eval "$(dm cluster env --shell bash demo)" && docker node ls --format '{{.Hostname}} {{.Status}} {{.ManagerStatus}}') >"$work/nodes"
check_eq "5 Ready nodes" "5" "$(grep -c ' Ready' "$work/nodes")"
check_eq "3 managers" "3" "$(grep -cE ' (Leader|Reachable)$' "$work/nodes")"
check_eq "one leader" "1" "$(grep -c ' Leader$' "$work/nodes")"
status=$(dm cluster status demo)
check_contains "status: survives 1 manager failure" "survives 1 more manager failure" "$status"
check_eq "status json: failures tolerated" "1" "$(status_json | json_get 'd["Managers"]["FailuresTolerated"]')"
check_eq "group labels on the nodes" "app" \
  "$(eval "$(dm cluster env --shell bash demo)"; docker node inspect demo-worker-1 --format '{{index .Spec.Labels "tier"}}')"
check_eq "cluster ls" "demo local 3 2 Ready" "$(dm cluster ls | awk 'NR==2 {print $1, $2, $3, $4, $5}')"
check_eq "machines keep their own records (ip works)" "1" "$(dm ip demo-worker-2 | grep -c '^10\.')"
check_contains "engine label from the file" "env=demo" "$(eval "$(dm env --shell bash demo-worker-2)"; docker info --format '{{.Labels}}')"

log "a 6-replica service of a locally made image, answering on every node's IP"
DMACHINE="$DMACHINE" bash "$DM_SOURCE_DIR/examples/cluster-routing-mesh.sh" demo 6 8080 >"$work/mesh" 2>&1
sed 's/^/  | /' "$work/mesh"
check_eq "6 tasks running" "6" "$(running_tasks)"
check_eq "tasks spread over at least 3 nodes" "yes" \
  "$( (eval "$(dm cluster env --shell bash demo)"; docker service ps web --filter desired-state=running --format '{{.Node}}') | sort -u | wc -l | awk '{print ($1 >= 3) ? "yes" : "no"}')"
for node in demo-manager-1 demo-manager-2 demo-manager-3 demo-worker-1 demo-worker-2; do
  check_eq "port 8080 answers on $node" "3" "$(grep -c "^  $node (.*) -> task " "$work/mesh")"
done
check_eq "answers come from several tasks" "yes" \
  "$(grep -o -- '-> task .*' "$work/mesh" | sort -u | wc -l | awk '{print ($1 >= 2) ? "yes" : "no"}')"

log "fault: the leader is killed"
leader=$(status_json | json_get 'd["Leader"]')
leader_url=$(dm url "$leader")
check_contains "the leader is a manager" "demo-manager-" "$leader"
check_exit "kill the leader $leader" 0 dm kill "$leader"
quorum_held_2_of_3() { status_json | json_get 'd["Managers"]["Reachable"] == 2 and d["Managers"]["QuorumHeld"] or exit(1)'; }
wait_for 90 "status: 2/3 managers reachable, quorum held" quorum_held_2_of_3
check_contains "status text says so" "2/3 managers reachable (needs 2): held" "$(dm cluster status demo)"
env_host=$(dm cluster env --shell bash demo | sed -n 's/^export DOCKER_HOST="\(.*\)"$/\1/p')
[ -n "$env_host" ] && [ "$env_host" != "$leader_url" ] && pass "cluster env points at a live manager ($env_host)" ||
  failed "cluster env points at a live manager (got '$env_host', dead leader $leader_url)"
check_exit "docker node ls through it" 0 bash -c "eval \"\$($DMACHINE cluster env --shell bash demo)\" && docker node ls"
six_running_elsewhere() { [ "$(running_tasks "$leader")" = 6 ]; }
wait_for 150 "the service is back to 6 running replicas without $leader" six_running_elsewhere
check_exit "start the old leader" 0 dm start "$leader"
rejoined() {
  status_json | json_get "d['Managers']['Reachable'] == 3 and [n for n in d['Nodes'] if n['Machine'] == '$leader' and n['Status'] == 'Ready' and n['ManagerStatus'] in ('Reachable', 'Leader')] or exit(1)"
}
wait_for 120 "$leader rejoins as a reachable manager" rejoined

log "add a worker, remove-node another"
check_exit "cluster add demo --workers 1" 0 dm cluster add demo --workers 1
check_contains "the new node is Ready" "demo-worker-3" "$(eval "$(dm cluster env --shell bash demo)"; docker node ls --filter role=worker --format '{{.Hostname}} {{.Status}}' | grep Ready)"
(eval "$(dm env --shell bash demo-worker-3)" && tar -C "$work" -cf - . >/dev/null)  # the env of a new member works
mkdir -p "$work/img/bin" "$work/img/www" && cp "$(command -v busybox)" "$work/img/bin/busybox" && tar -C "$work/img" -cf "$work/web.tar" .
(eval "$(dm env --shell bash demo-worker-3)" && docker import "$work/web.tar" local/web:1 >/dev/null) &&
  pass "image imported on the new worker" || failed "image imported on the new worker"
on_worker1=$( (eval "$(dm cluster env --shell bash demo)"; docker service ps web --filter desired-state=running --format '{{.Node}}') | grep -c '^demo-worker-1$' || true)
log "demo-worker-1 runs $on_worker1 task(s) of web before remove-node"
check_exit "cluster remove-node demo demo-worker-1" 0 dm cluster remove-node demo demo-worker-1
# remove-node drains the node first; the replacements elsewhere may still be starting.
six_running_without_worker1() { [ "$(running_tasks demo-worker-1)" = 6 ]; }
wait_for 120 "6 tasks running after, none on demo-worker-1" six_running_without_worker1
check_eq "the node is gone from the swarm" "0" \
  "$( (eval "$(dm cluster env --shell bash demo)"; docker node ls --format '{{.Hostname}}') | grep -c '^demo-worker-1$')"
check_exit "its machine is gone" 1 dm status demo-worker-1
check_eq "the record has 5 members" "5" "$(status_json | json_get 'len(d["Nodes"])')"
check_contains "removing a machine that is not a node is refused" 'is not a node of cluster "demo"' \
  "$(dm cluster remove-node demo nobody 2>&1)"

log "cluster rm leaves nothing"
members=$(status_json | json_get '" ".join(n["Machine"] for n in d["Nodes"])')
# The members' namespaces (other suites may make and remove their own meanwhile).
member_netns=$(for m in $members; do dm inspect --format '{{.Driver.Netns}}' "$m"; done)
check_exit "cluster rm -y demo" 0 dm cluster rm -y demo
check_eq "no machine left" "" "$(dm ls -q)"
check_eq "no cluster record left" "" "$(dm cluster ls -q; ls "$E2E_STORE/clusters")"
check_eq "no namespace of a member left" "0" \
  "$(ip netns list | awk '{print $1}' | grep -cxF "$member_netns" || true)"
check_eq "no veth left on the bridge" "0" "$(ip -o link show master "$LOCAL_BRIDGE" 2>/dev/null | wc -l)"
check_eq "no mounts left" "0" "$(grep -c "$E2E_STORE" /proc/self/mountinfo || true)"
check_eq "no processes left" "0" "$(pgrep -fc "$E2E_STORE" || true)"
log "members were: $members"

e2e_finish
