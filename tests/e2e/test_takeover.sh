#!/usr/bin/env bash
# e2e: hosts other tools set up, taken over; certificates renewed for several
# machines at once. A host provisioned the way docker-machine 0.16 does it
# (10-machine.conf drop-in, certificates at /etc/docker/*.pem) is taken over by
# `create -d generic` and by `provision` of a record from a docker-machine
# store; a host whose docker.socket is masked; regenerate-certs --client-certs
# A B with a third machine C; a generic SSH key named key.pem; https_proxy set
# to a closed port; upgrade of a stopped machine.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/dm_fixture.sh"
e2e_init
command -v docker >/dev/null || skip "the docker client is missing (apt-get install docker.io)"
command -v openssl >/dev/null || skip "openssl is missing (apt-get install openssl)"
S="$E2E_STORE"
work=$(mktemp -d)
e2e_on_exit 'rm -rf "$work"'
DROPINS=/etc/systemd/system/docker.service.d

# A docker-machine style CA and client certificate in $1/certs (what DM's
# `create` makes with crypto/x509, here with openssl).
make_dm_certs() {
  local c="$1/certs"
  mkdir -p "$c" && chmod 700 "$c"
  openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/O=alice" -keyout "$c/ca-key.pem" \
    -out "$c/ca.pem" -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,digitalSignature 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/O=alice.<bootstrap>" -keyout "$c/key.pem" \
    -out "$work/client.csr" 2>/dev/null
  printf 'extendedKeyUsage=clientAuth\n' >"$work/client.ext"
  openssl x509 -req -in "$work/client.csr" -CA "$c/ca.pem" -CAkey "$c/ca-key.pem" \
    -CAcreateserial -days 30 -extfile "$work/client.ext" -out "$c/cert.pem" 2>/dev/null
  chmod 600 "$c/ca-key.pem" "$c/key.pem"
}

# Provisions host $1 (a dmachine machine name) as docker-machine 0.16 does, with
# the CA of store $2: server certificate at /etc/docker/{ca,server,server-key}.pem
# (DM leaves the key 0644), and its drop-in 10-machine.conf (DM's template; the
# dockerd path is the host's own, as DM 0.16.2's /usr/bin/dockerd fails on Debian).
dm_provision() {
  local host=$1 store=$2 ip
  ip=$(dm ip "$host")
  openssl req -newkey rsa:2048 -nodes -subj "/O=alice.$host" -keyout "$work/server-key.pem" \
    -out "$work/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:%s,DNS:localhost\nextendedKeyUsage=serverAuth\n' "$ip" >"$work/server.ext"
  openssl x509 -req -in "$work/server.csr" -CA "$store/certs/ca.pem" -CAkey "$store/certs/ca-key.pem" \
    -CAcreateserial -days 30 -extfile "$work/server.ext" -out "$work/server.pem" 2>/dev/null
  {
    printf 'set -e\nmkdir -p /etc/docker %s\n' "$DROPINS"
    for f in ca server server-key; do
      local src="$work/$f.pem"
      [ "$f" = ca ] && src="$store/certs/ca.pem"
      printf "printf '%%s' '%s' | tee /etc/docker/%s.pem >/dev/null\n" "$(cat "$src")" "$f"
    done
    cat <<EOF
cat >$DROPINS/10-machine.conf <<'UNIT'
[Service]
ExecStart=
ExecStart=DOCKERD -H tcp://0.0.0.0:2376 -H unix:///var/run/docker.sock --storage-driver vfs --tlsverify --tlscacert /etc/docker/ca.pem --tlscert /etc/docker/server.pem --tlskey /etc/docker/server-key.pem --label provider=generic 
Environment=

[Install]
WantedBy=multi-user.target
UNIT
sed -i "s#DOCKERD#\$(command -v dockerd)#" $DROPINS/10-machine.conf
systemctl daemon-reload
systemctl restart docker.service
EOF
  } >"$work/dm-provision.sh"
  dm ssh "$host" -- sh -s <"$work/dm-provision.sh"
}

# docker --tlsverify against ip $1 with the client files of directory $2.
docker_tls() {
  local ip=$1 certs=$2
  shift 2
  docker --tlsverify --tlscacert "$certs/ca.pem" --tlscert "$certs/cert.pem" --tlskey "$certs/key.pem" \
    -H "tcp://$ip:2376" "$@"
}

log "a docker-machine host (10-machine.conf, /etc/docker/*.pem) taken over by create -d generic"
check_exit "create dmhost (local, engine not provisioned)" 0 dm create -d local --no-provision dmhost
ip_dm=$(dm ip dmhost)
DMS="$work/dm-store"
make_dm_certs "$DMS"
dm_provision dmhost "$DMS"
check_eq "docker-machine's engine answers with its own CA" "$(dm ssh dmhost -- dockerd --version | sed 's/Docker version \([^,]*\),.*/\1/')" \
  "$(docker_tls "$ip_dm" "$DMS/certs" version --format '{{.Server.Version}}' 2>&1)"
# The state dmachine before this fix left behind: its own drop-in beside DM's.
dm ssh dmhost -- "printf '[Service]\nExecStart=\nExecStart=/usr/sbin/dockerd -H fd://\n' >$DROPINS/10-dmachine.conf && mkdir -p /etc/docker/dmachine && echo old >/etc/docker/dmachine/server-key.pem"
t0=$SECONDS
check_exit "create -d generic takes the host over" 0 dm create -d generic --generic-ip-address "$ip_dm" \
  --generic-ssh-key "$S/machines/dmhost/id_rsa" taken
log "takeover took $((SECONDS - t0)) s"
check_eq "one drop-in is left, docker-machine's name" "10-machine.conf" "$(dm ssh dmhost -- ls $DROPINS)"
check_contains "and it is dmachine's" "--label provider=generic --live-restore" "$(dm ssh dmhost -- cat $DROPINS/10-machine.conf)"
check_eq "the old dmachine certificate directory is gone" "gone" "$(dm ssh dmhost -- 'test -e /etc/docker/dmachine || echo gone')"
check_eq "certificates at docker-machine's paths, the key 0600" "root 600" \
  "$(dm ssh dmhost -- "stat -c '%U %a' /etc/docker/server-key.pem")"
check_eq "/etc/docker/ca.pem is the store's CA" "$(cat "$S/certs/ca.pem")" "$(dm ssh dmhost -- cat /etc/docker/ca.pem)"
check_eq "docker --tlsverify with dmachine's certificates" "ok" \
  "$(eval "$(dm env taken)"; docker version --format '{{.Server.Version}}' >/dev/null && echo ok)"
check_eq "docker-machine's old client certificate is refused" "refused" \
  "$(docker_tls "$ip_dm" "$DMS/certs" version >/dev/null 2>&1 || echo refused)"

log "a record of a docker-machine store provisioned by dmachine, on a docker-machine host"
dm_provision dmhost "$DMS"
D="$DMS"
adopt_dm_fixture "$D" "$ip_dm" "$S/machines/dmhost/id_rsa"
check_exit "provision node1 of the docker-machine store" 0 env MACHINE_STORAGE_PATH="$D" "$DMACHINE" provision node1
check_eq "one drop-in is left" "10-machine.conf" "$(dm ssh dmhost -- ls $DROPINS)"
check_eq "the docker-machine store's CA is kept" "$(cat "$D/certs/ca.pem")" "$(dm ssh dmhost -- cat /etc/docker/ca.pem)"
check_eq "docker --tlsverify with the docker-machine client certificate" "ok" \
  "$(docker_tls "$ip_dm" "$D/certs" version --format '{{.Server.Version}}' >/dev/null && echo ok)"
check_eq "and through env of the docker-machine store" "ok" \
  "$(eval "$(MACHINE_STORAGE_PATH=$D "$DMACHINE" env node1)"; docker version --format '{{.Server.Version}}' >/dev/null && echo ok)"

log "docker.socket masked"
check_exit "create sockhost (local, engine not provisioned)" 0 dm create -d local --no-provision sockhost
ip_sock=$(dm ip sockhost)
dm ssh sockhost -- 'systemctl stop docker.service docker.socket && systemctl mask docker.socket' >/dev/null 2>&1
out=$(dm create -d generic --generic-ip-address "$ip_sock" --generic-ssh-key "$S/machines/sockhost/id_rsa" stockmasked 2>&1)
check_eq "the stock unit (Requires=docker.socket) with the socket masked fails" "1" "$?"
check_contains "and says why and what to do" "docker.socket is masked" "$out"
check_contains "naming the fix" "systemctl unmask docker.socket" "$out"
check_eq "nothing was written on the host" "" "$(dm ssh sockhost -- ls $DROPINS 2>/dev/null)"
[ ! -e "$S/machines/stockmasked" ] && pass "no store entry left" || failed "no store entry left"
# A unit of its own, without the socket (what `systemctl edit --full docker.service` gives).
dm ssh sockhost -- "sed -e '/^Requires=docker.socket/d' -e 's# -H fd://##' /lib/systemd/system/docker.service >/etc/systemd/system/docker.service && systemctl daemon-reload"
check_exit "a unit of its own with docker.socket masked provisions" 0 dm create -d generic \
  --generic-ip-address "$ip_sock" --generic-ssh-key "$S/machines/sockhost/id_rsa" masked
check_contains "dockerd listens on the unix socket itself" "-H unix:///var/run/docker.sock" \
  "$(dm ssh sockhost -- cat $DROPINS/10-machine.conf)"
check_eq "docker --tlsverify works" "ok" "$(eval "$(dm env masked)"; docker version --format '{{.Server.Version}}' >/dev/null && echo ok)"
check_eq "and the local docker socket too" "ok" "$(dm ssh sockhost -- 'docker -H unix:///var/run/docker.sock info >/dev/null && echo ok')"
check_eq "docker.socket is still masked" "masked" "$(dm ssh sockhost -- systemctl is-enabled docker.socket)"

log "an SSH key named key.pem, and https_proxy pointing at a closed port"
cp "$S/machines/sockhost/id_rsa" "$work/key.pem"
chmod 600 "$work/key.pem"
check_exit "create -d generic with --generic-ssh-key key.pem behind a dead https_proxy" 0 \
  env https_proxy=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 ALL_PROXY=http://127.0.0.1:9 \
  "$DMACHINE" create -d generic --generic-ip-address "$ip_sock" --generic-ssh-key "$work/key.pem" pem
check_eq "the SSH key is copied to machines/pem/id_rsa" "$S/machines/pem/id_rsa" \
  "$(dm inspect -f '{{.Driver.SSHKeyPath}}' pem)"
cmp -s "$work/key.pem" "$S/machines/pem/id_rsa" && pass "the copy is the key" || failed "the copy is the key"
cmp -s "$work/key.pem" "$S/machines/pem/key.pem" && failed "key.pem is the TLS client key" || pass "key.pem is the TLS client key"
check_exit "regenerate-certs -f pem" 0 dm regenerate-certs -f pem
check_exit "ssh still works after regenerate-certs" 0 dm ssh pem -- true
check_exit "env behind the dead proxy" 0 env https_proxy=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 "$DMACHINE" env pem
check_eq "ls behind the dead proxy" "pem Running v$(dm version pem)" \
  "$(https_proxy=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 "$DMACHINE" ls --filter name=pem --format '{{.Name}} {{.State}} {{.DockerVersion}}')"

log "regenerate-certs --client-certs A B, with a third machine C"
check_exit "create a (local, engine)" 0 dm create -d local a
check_exit "create b (local, engine)" 0 dm create -d local b
ca_before=$(cat "$S/certs/ca.pem")
out=$(dm regenerate-certs -f --client-certs a b 2>&1)
check_eq "regenerate-certs --client-certs a b exits 0" "0" "$?"
[ "$ca_before" != "$(cat "$S/certs/ca.pem")" ] && pass "the CA was renewed" || failed "the CA was renewed"
check_eq "one CA renewal" "1" "$(printf '%s\n' "$out" | grep -c 'Regenerating the CA')"
for m in a b; do
  # env checks the engine with the store's (new) CA and client certificate first.
  check_eq "$m reachable: env, then docker --tlsverify" "ok" \
    "$(eval "$(dm env $m)" && docker version --format '{{.Server.Version}}' >/dev/null && echo ok)"
done
check_contains "the machines left on the old CA are listed with what to run" \
  "dmachine regenerate-certs -f masked pem taken" "$out"
check_exit "the listed machine is not reachable with the new CA" 1 dm env taken
check_exit "regenerate-certs -f taken" 0 dm regenerate-certs -f taken
check_exit "and then it is" 0 dm env taken

log "upgrade of a stopped machine starts it first"
check_exit "stop b" 0 dm stop b
out=$(dm upgrade b 2>&1)
check_eq "upgrade of the stopped machine exits 0" "0" "$?"
check_contains "says it starts it" "Starting machine so machine can be upgraded..." "$out"
check_eq "and leaves it running" "Running" "$(dm status b)"
check_exit "its engine answers" 0 dm version b

e2e_finish
