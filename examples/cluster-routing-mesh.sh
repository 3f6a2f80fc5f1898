#!/usr/bin/env bash
# Deploys a replicated web service on a dmachine cluster and shows requests
# answered by different tasks through every node's IP.
#   examples/cluster-routing-mesh.sh CLUSTER [REPLICAS] [PORT]
# The image is made here (busybox-static in a tarball, `docker import` on each
# node): no registry needed. Docker's routing mesh (ingress) balances with the
# kernel's IPVS; on a kernel without IPVS the script says so and publishes the
# port through a global "edge" service instead (host-mode port on every node,
# forwarding over the overlay network to the tasks by DNS round robin).
set -euo pipefail
cluster=${1:?usage: $0 CLUSTER [REPLICAS] [PORT]}
replicas=${2:-6}
port=${3:-8080}
dm=${DMACHINE:-dmachine}
status_json=$("$dm" cluster status --format json "$cluster")
nodes=$(python3 -c 'import json,sys; print(" ".join(n["Machine"] for n in json.load(sys.stdin)["Nodes"]))' <<<"$status_json")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root/bin" "$work/root/www"
cp "$(command -v busybox)" "$work/root/bin/busybox"
tar -C "$work/root" -cf "$work/web.tar" .
echo "Importing the image local/web:1 on every node: $nodes"
for node in $nodes; do
  (eval "$("$dm" env --shell bash "$node")" && docker import "$work/web.tar" local/web:1 >/dev/null) &
done
wait

eval "$("$dm" cluster env --shell bash "$cluster")"
first=${nodes%% *}
serve='echo "task $(/bin/busybox hostname)" >/www/index.html; exec /bin/busybox httpd -f -p 8080 -h /www'
docker service rm web edge >/dev/null 2>&1 || true
if "$dm" ssh "$first" -- test -d /proc/sys/net/ipv4/vs; then
  echo "Publishing port $port through Docker's routing mesh (ingress, IPVS)"
  docker service create -d --quiet --no-resolve-image --name web --replicas "$replicas" --publish "$port:8080" \
    local/web:1 /bin/busybox sh -c "$serve" >/dev/null
else
  echo "This kernel has no IPVS (CONFIG_IP_VS), which Docker's ingress routing mesh needs:"
  echo "publishing port $port on every node through a global edge service instead"
  docker network inspect web-net >/dev/null 2>&1 || docker network create -d overlay web-net >/dev/null
  docker service create -d --quiet --no-resolve-image --name web --replicas "$replicas" --network web-net \
    --endpoint-mode dnsrr local/web:1 /bin/busybox sh -c "$serve" >/dev/null
  docker service create -d --quiet --no-resolve-image --name edge --mode global --network web-net \
    --endpoint-mode dnsrr --publish "mode=host,target=8080,published=$port" \
    local/web:1 /bin/busybox nc -ll -p 8080 -e /bin/busybox nc tasks.web 8080 >/dev/null
fi

# wait_running SERVICE COUNT: until COUNT of its tasks run (at most 3 minutes); sets running.
wait_running() {
  for _ in $(seq 1 90); do
    running=$(docker service ps "$1" --filter desired-state=running --format '{{.CurrentState}}' | grep -c '^Running' || true)
    [ "$running" -ge "$2" ] && return
    sleep 2
  done
}
echo "Waiting for $replicas running tasks..."
wait_running web "$replicas"
docker service ps web --filter desired-state=running --format '{{.Name}} on {{.Node}}: {{.CurrentState}}'
[ "$running" -ge "$replicas" ] || { echo "only $running of $replicas tasks run" >&2; exit 1; }
if docker service inspect edge >/dev/null 2>&1; then
  node_count=$(echo $nodes | wc -w)
  echo "Waiting for the edge service on each of the $node_count nodes..."
  wait_running edge "$node_count"
fi

echo "Requests through every node's IP:"
for node in $nodes; do
  ip=$("$dm" ip "$node")
  for _ in 1 2 3; do
    answer=""
    for _ in $(seq 1 20); do # the edge/ingress on a node may need a moment
      answer=$(curl -s -m 3 "http://$ip:$port/index.html" || true)
      [ -n "$answer" ] && break
      sleep 1
    done
    echo "  $node ($ip:$port) -> ${answer:-no answer}"
  done
done
