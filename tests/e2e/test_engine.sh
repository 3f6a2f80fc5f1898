#!/usr/bin/env bash
# e2e: the Docker engine on real hosts. A local machine with TLS and the real
# docker client; the generic driver installing the engine from packages on a
# bare host; a non-root sudo user; a sudo that wants a password; env/config/url
# byte for byte; regenerate-certs under a running container; a failing create
# leaving nothing; "Host is not running"; a docker-machine store adopted.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/dm_fixture.sh"
e2e_init
command -v docker >/dev/null || skip "the docker client is missing (apt-get install docker.io)"
command -v openssl >/dev/null || skip "openssl is missing (apt-get install openssl)"
S="$E2E_STORE"
work=$(mktemp -d)
e2e_on_exit 'rm -rf "$work"'

log "a local machine with the engine, reached by the docker client over TLS"
check_exit "create eng (local, engine provisioned)" 0 dm create -d local eng
ip_eng=$(dm ip eng)
(
  eval "$(dm env eng)"
  [ "$DOCKER_TLS_VERIFY" = 1 ] || exit 9
  docker info --format '{{.ServerVersion}}' >"$work/version"
) && pass "docker info over TLS" || failed "docker info over TLS"
check_eq "dmachine version NAME is the engine's" "$(cat "$work/version")" "$(dm version eng)"
check_eq "version --format json of a machine" "{\"Name\":\"eng\",\"Version\":\"$(cat "$work/version")\"}" \
  "$(dm version --format json eng)"
check_contains "ls shows the engine version" "v$(cat "$work/version")" "$(dm ls --filter name=eng)"
check_eq "ls URL" "tcp://$ip_eng:2376" "$(dm ls --format '{{.URL}}' --filter name=eng)"
check_eq "provider label" "[provider=local]" "$(eval "$(dm env eng)"; docker info --format '{{.Labels}}')"
check_eq "server key is 0600 on the host" "600" "$(dm ssh eng -- stat -c %a /etc/docker/server-key.pem)"
check_eq "client key is 0600 in the store" "600" "$(stat -c %a "$S/machines/eng/key.pem")"
check_eq "store certs dir is 0700" "700" "$(stat -c %a "$S/certs")"
mkdir -p "$work/bb/bin"
cp "$(command -v busybox)" "$work/bb/bin/busybox"
for c in sh echo httpd sleep cat hostname; do ln -s busybox "$work/bb/bin/$c"; done
tar -C "$work/bb" -cf "$work/bb.tar" .
(
  eval "$(dm env eng)"
  docker import "$work/bb.tar" bb:local >/dev/null &&
    docker run --rm bb:local echo hello-from-a-container
) >"$work/run.out" 2>&1
check_eq "docker run of a locally made image" "hello-from-a-container" "$(cat "$work/run.out")"

log "env, config and url, byte for byte"
P="$S/machines/eng"
H="tcp://$ip_eng:2376"
expect_env() { # shell set-format hint-prefix hint
  local out=""
  for kv in "DOCKER_TLS_VERIFY=1" "DOCKER_HOST=$H" "DOCKER_CERT_PATH=$P" "DOCKER_MACHINE_NAME=eng"; do
    # shellcheck disable=SC2059
    out+=$(printf "$2" "${kv%%=*}" "${kv#*=}")$'\n'
  done
  printf '%s%s Run this command to configure your shell: \n%s %s\n' "$out" "$3" "$3" "$4"
}
check_eq "env (bash, \$SHELL unset)" "$(expect_env bash 'export %s="%s"' '#' 'eval $(dmachine env eng)')" \
  "$(env -u SHELL "$DMACHINE" env eng)"
check_eq "env --shell fish" "$(expect_env fish 'set -gx %s "%s";' '#' 'eval (dmachine env --shell fish eng)')" \
  "$(dm env --shell fish eng)"
check_eq "env --shell powershell" \
  "$(expect_env powershell '$Env:%s = "%s"' '#' '& dmachine env --shell powershell eng | Invoke-Expression')" \
  "$(dm env --shell powershell eng)"
check_eq "env --shell cmd" \
  "$(expect_env cmd 'SET %s=%s' 'REM' $'\t@FOR /f "tokens=*" %i IN (\'dmachine env --shell cmd eng\') DO @%i')" \
  "$(dm env --shell cmd eng)"
check_eq "env --shell emacs" \
  "$(expect_env emacs '(setenv "%s" "%s")' ';;' '(with-temp-buffer (shell-command "dmachine env --shell emacs eng" (current-buffer)) (eval-buffer))')" \
  "$(dm env --shell emacs eng)"
check_eq "env --shell tcsh" "$(expect_env tcsh 'setenv %s "%s";' ':' 'eval `dmachine env --shell tcsh eng`')" \
  "$(dm env --shell tcsh eng)"
check_eq "env follows \$SHELL=/usr/bin/fish" "$(dm env --shell fish eng | head -4)" "$(SHELL=/usr/bin/fish "$DMACHINE" env eng | head -4)"
check_eq "env --unset" 'unset DOCKER_TLS_VERIFY
unset DOCKER_HOST
unset DOCKER_CERT_PATH
unset DOCKER_MACHINE_NAME
# Run this command to configure your shell: 
# eval $(dmachine env --unset)' "$(env -u SHELL "$DMACHINE" env --unset)"
check_eq "env -u with a name" "Error: Expected no machine name when the -u flag is present" "$(dm env -u eng 2>&1)"
check_contains "env --no-proxy appends the IP once" "export NO_PROXY=\"localhost,$ip_eng\"" \
  "$(NO_PROXY=localhost env -u no_proxy -u SHELL "$DMACHINE" env --no-proxy eng)"
check_contains "env --no-proxy keeps a list that has it" "export NO_PROXY=\"localhost,$ip_eng\"" \
  "$(NO_PROXY="localhost,$ip_eng" env -u no_proxy -u SHELL "$DMACHINE" env --no-proxy eng)"
check_eq "config" "--tlsverify
--tlscacert=\"$S/certs/ca.pem\"
--tlscert=\"$S/certs/cert.pem\"
--tlskey=\"$S/certs/key.pem\"
-H=$H" "$(dm config eng)"
check_eq "url" "$H" "$(dm url eng)"
check_eq "active" "eng" "$(DOCKER_HOST=$H "$DMACHINE" active)"
check_eq "no active host" "No active host found" "$(DOCKER_HOST=tcp://127.0.0.1:1 "$DMACHINE" active 2>&1)"

log "regenerate-certs while a container runs"
served_fingerprint() {
  openssl s_client -connect "$ip_eng:2376" -cert "$S/certs/cert.pem" -key "$S/certs/key.pem" \
    </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256
}
before=$(served_fingerprint)
(eval "$(dm env eng)" && docker run -d --name web bb:local httpd -f -p 8080 >/dev/null)
started=$(eval "$(dm env eng)"; docker inspect -f '{{.State.StartedAt}}' web)
check_exit "regenerate-certs -f" 0 dm regenerate-certs -f eng
after=$(served_fingerprint)
[ -n "$before" ] && [ "$before" != "$after" ] && pass "a new certificate is served" ||
  failed "a new certificate is served ($before / $after)"
check_eq "the served certificate is the store's server.pem" \
  "$(openssl x509 -noout -fingerprint -sha256 -in "$S/machines/eng/server.pem")" "$after"
check_eq "the container still runs, never restarted" "true $started" \
  "$(eval "$(dm env eng)"; docker inspect -f '{{.State.Running}} {{.State.StartedAt}}' web)"
check_exit "provision again is idempotent" 0 dm provision eng
check_eq "and keeps the container" "true" "$(eval "$(dm env eng)"; docker inspect -f '{{.State.Running}}' web)"

log "generic driver on a bare host: the engine comes from the distribution's packages"
check_exit "create bare (local, no engine in the image)" 0 dm create -d local --local-image debian --no-provision bare
ip_bare=$(dm ip bare)
check_exit "the bare host has no dockerd" 1 dm ssh bare -- command -v dockerd
t0=$(date +%s)
check_exit "create -d generic installs the engine" 0 dm create -d generic --generic-ip-address "$ip_bare" \
  --generic-ssh-key "$S/machines/bare/id_rsa" --engine-label tier=e2e --engine-opt log-level=warn gen
log "generic create with package install took $(($(date +%s) - t0)) s"
check_contains "docker.io installed from packages" "ii  docker.io" "$(dm ssh gen -- dpkg -l docker.io)"
check_eq "engine answers over TLS" "$(dm ssh gen -- dockerd --version | sed 's/Docker version \([^,]*\),.*/\1/')" "$(dm version gen)"
labels=$(eval "$(dm env gen)"; docker info --format '{{.Labels}}')
check_contains "--engine-label reaches dockerd" "tier=e2e" "$labels"
check_contains "provider label" "provider=generic" "$labels"
check_eq "--engine-opt reaches dockerd" "warn" "$(eval "$(dm env gen)"; docker info --format '{{.LoggingDriver}}' >/dev/null; dm ssh gen -- cat /etc/systemd/system/docker.service.d/10-machine.conf | grep -o 'log-level=[a-z]*' | cut -d= -f2)"
check_eq "status of a generic machine" "Running" "$(dm status gen)"
check_contains "generic stop is not supported" "does not support stop" "$(dm stop gen 2>&1)"
out=$(dm rm -y gen)
check_contains "rm of a generic machine says the server is left alone" "left as it is" "$out"
check_eq "and the server still runs its engine" "active" "$(dm ssh bare -- systemctl is-active docker)"

log "a non-root user with passwordless sudo; a user whose sudo wants a password"
check_exit "create users (local, no engine provisioning)" 0 dm create -d local --no-provision users
ip_users=$(dm ip users)
dm ssh users -- 'for u in deploy pw; do useradd -m -s /bin/bash $u && mkdir -p /home/$u/.ssh && cp /root/.ssh/authorized_keys /home/$u/.ssh/ && chown -R $u: /home/$u/.ssh; done
echo "deploy ALL=(ALL) NOPASSWD:ALL" >/etc/sudoers.d/deploy; echo "pw ALL=(ALL) ALL" >/etc/sudoers.d/pw; echo pw:secret-pw | chpasswd' >/dev/null
check_exit "create -d generic as a sudo user" 0 dm create -d generic --generic-ip-address "$ip_users" \
  --generic-ssh-user deploy --generic-ssh-key "$S/machines/users/id_rsa" asdeploy
check_exit "its engine answers over TLS" 0 dm version asdeploy
check_eq "certificates were installed as root" "root 600" "$(dm ssh users -- "stat -c '%U %a' /etc/docker/server-key.pem")"
t0=$(date +%s)
out=$(dm create -d generic --generic-ip-address "$ip_users" --generic-ssh-user pw \
  --generic-ssh-key "$S/machines/users/id_rsa" aspw 2>&1)
code=$?
elapsed=$(($(date +%s) - t0))
check_eq "sudo with a password fails" "1" "$code"
check_contains "and says why" "needs passwordless sudo" "$out"
[ "$elapsed" -lt 60 ] && pass "fails fast (${elapsed}s)" || failed "fails fast (${elapsed}s)"
[ ! -e "$S/machines/aspw" ] && pass "no store entry left" || failed "no store entry left"

log "a create failing mid-way (unsupported OS) leaves nothing behind"
check_exit "create alpine-ish host" 0 dm create -d local --no-provision odd
dm ssh odd -- 'rm -f /etc/os-release && printf "NAME=\"Alpine Linux\"\nID=alpine\nPRETTY_NAME=\"Alpine Linux v3.19\"\n" >/etc/os-release'
out=$(dm create -d generic --generic-ip-address "$(dm ip odd)" --generic-ssh-key "$S/machines/odd/id_rsa" oddgen 2>&1)
check_contains "unsupported OS named" 'unsupported OS "Alpine Linux v3.19"' "$out"
check_contains "the error names the step" "Detecting the operating system" "$out"
[ ! -e "$S/machines/oddgen" ] && pass "no store entry left" || failed "no store entry left"
check_eq "ls does not show it" "" "$(dm ls -q --filter name=oddgen)"
out=$(dm create -d local --local-image debian --engine-install-url http://127.0.0.1:9/install.sh midway 2>&1)
code=$?
check_eq "an engine install failing mid-way exits 1" "1" "$code"
[ ! -e "$S/machines/midway" ] && pass "the half-made local machine is removed" || failed "the half-made local machine is removed"
check_exit "--keep-on-failure keeps it for inspection" 1 dm create -d local --local-image debian \
  --engine-install-url http://127.0.0.1:9/install.sh --keep-on-failure kept
check_eq "kept machine is listed" "kept" "$(dm ls -q --filter name=kept)"
check_exit "and rm -f removes it" 0 dm rm -f -y kept

log "a stopped machine: Host is not running"
# A container's PID 1 ignores SIGTERM, so the host's shutdown would wait for the stop timeout.
(eval "$(dm env eng)" && docker rm -f web >/dev/null)
check_exit "stop eng" 0 dm stop eng
for c in url env config version; do
  check_eq "$c on a stopped machine" "Host is not running" "$(dm $c eng 2>&1)"
  check_exit "$c exits 1" 1 dm $c eng
done

log "a docker-machine store (the fixture) adopted against a real host"
D=$(mktemp -d)
# The host already has an engine: provisioning keeps it (the record's InstallURL,
# https://get.docker.com, is never fetched: no address outside this computer).
adopt_dm_fixture "$D" "$ip_users" "$S/machines/users/id_rsa"
cp "$D/machines/node1/config.json" "$work/before.json"
check_eq "ls lists the docker-machine record" "node1 generic Running" \
  "$(MACHINE_STORAGE_PATH=$D "$DMACHINE" ls --format '{{.Name}} {{.DriverName}} {{.State}}')"
check_eq "inspect reads its engine options" "vfs" \
  "$(MACHINE_STORAGE_PATH=$D "$DMACHINE" inspect -f '{{.HostOptions.EngineOptions.StorageDriver}}' node1)"
check_eq "read-only commands never rewrite it" "" "$(cmp "$work/before.json" "$D/machines/node1/config.json")"
check_exit "provision the adopted machine" 0 env MACHINE_STORAGE_PATH="$D" "$DMACHINE" provision node1
python3 - "$work/before.json" "$D/machines/node1/config.json" >"$work/keys.out" <<'EOF'
import json, sys
def paths(value, prefix=""):
    if isinstance(value, dict):
        for key, child in value.items():
            yield prefix + "/" + key
            yield from paths(child, prefix + "/" + key)
old, new = (json.load(open(p)) for p in sys.argv[1:])
print(" ".join(sorted(set(paths(old)) - set(paths(new)))))
EOF
check_eq "the rewritten record keeps every docker-machine key" "" "$(cat "$work/keys.out")"
check_eq "and its engine answers over TLS" "$(dm ssh users -- dockerd --version | sed 's/Docker version \([^,]*\),.*/\1/')" \
  "$(MACHINE_STORAGE_PATH=$D "$DMACHINE" version node1)"
rm -rf "$D"

e2e_finish
