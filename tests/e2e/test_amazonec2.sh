#!/usr/bin/env bash
# The amazonec2 driver end to end against the EC2 emulator (tests/emulators/ec2), whose
# instances are real local machines: create (throttled RunInstances retried) -> ssh ->
# env + docker run -> stop -> start (new public IP: record, certificate and env follow)
# -> restart -> kill -> rm, and the emulator then holds nothing. Failures at each step
# (image not found, quota, throttling beyond the retries, SSH never answers, Ctrl-C)
# leave nothing behind; --debug shows the EC2 actions and no secret; ls over 20 EC2
# machines asks DescribeInstances once; a 1+2 swarm cluster with a service answering on
# every node, its swarm ports open to the group's members only.
source "$(dirname "$0")/lib.sh"
export LOCAL_SUBNET="${DM_EC2_E2E_SUBNET:-10.213.241.0/24}" LOCAL_BRIDGE="${DM_EC2_E2E_BRIDGE:-dmec2d0}"
e2e_init
command -v docker >/dev/null || skip "no docker client on PATH"
[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 is missing"
command -v ssh-keygen >/dev/null || skip "ssh-keygen is missing (openssh-client)"
command -v jq >/dev/null || skip "jq is missing (scripts/install-deps.sh installs it)"

EMU_DIR="$DM_SOURCE_DIR/tests/emulators/ec2"
WORK=$(mktemp -d /tmp/dm-e2e-amazonec2-work.XXXXXX)
KEY_ID=AKIDDMACHINEE2E
SECRET="dmE2eSecret/$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '{"%s": {"secret": "%s"}}\n' "$KEY_ID" "$SECRET" >"$WORK/creds.json"
printf '{"AKIDOTHER": {"secret": "x"}}\n' >"$WORK/other.json"

EMU_PID="" FAKE_PID=""
stop_emulators() {
  # The store's machines first, while their emulator still answers.
  if [ -d "$E2E_STORE/machines" ] && [ -n "$(ls "$E2E_STORE/machines")" ]; then
    # shellcheck disable=SC2046
    timeout 300 "$DMACHINE" rm -f -y $(ls "$E2E_STORE/machines") >/dev/null 2>&1
  fi
  for pid in $EMU_PID $FAKE_PID; do
    kill -TERM "$pid" 2>/dev/null
  done
  for pid in $EMU_PID $FAKE_PID; do
    for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null
  done
  # Hosts left by an emulator killed hard: its private store is in WORK.
  if [ -d "$WORK/emu-store/machines" ] && [ -n "$(ls "$WORK/emu-store/machines")" ]; then
    # shellcheck disable=SC2046
    timeout 120 "$DMACHINE" -s "$WORK/emu-store" rm -f -y $(ls "$WORK/emu-store/machines") >/dev/null 2>&1
  fi
  rm -rf "$WORK"
}
# The store's machines are removed by lib.sh after this (their instances are gone by then:
# rm -f forgets them).
e2e_on_exit 'stop_emulators'

ctl() { /usr/bin/python3 "$EMU_DIR/ec2emu_ctl.py" --port-file "$WORK/emu.port" "$@"; }
fake_ctl() { /usr/bin/python3 "$EMU_DIR/ec2emu_ctl.py" --port-file "$WORK/fake.port" "$@"; }

mkdir -p "$WORK/emu-store"
/usr/bin/python3 "$EMU_DIR/ec2_emulator.py" --credentials "$WORK/creds.json" --dmachine "$DMACHINE" \
  --port-file "$WORK/emu.port" --log "$WORK/emu.log" --store "$WORK/emu-store" \
  --local-subnet "$LOCAL_SUBNET" --local-bridge "$LOCAL_BRIDGE" --terminated-ttl 600 \
  >/dev/null 2>&1 &
EMU_PID=$!
# A second emulator without hosts (API only, made-up IPs) for the failure and ls tests.
/usr/bin/python3 "$EMU_DIR/ec2_emulator.py" --credentials "$WORK/creds.json" --no-hosts \
  --fake-delay 0.1 --port-file "$WORK/fake.port" --log "$WORK/fake.log" \
  --local-subnet 10.213.242.0/24 --terminated-ttl 600 >/dev/null 2>&1 &
FAKE_PID=$!
for _ in $(seq 1 100); do [ -s "$WORK/emu.port" ] && [ -s "$WORK/fake.port" ] && break; sleep 0.1; done
[ -s "$WORK/emu.port" ] && [ -s "$WORK/fake.port" ] || { failed "emulators did not start"; cat "$WORK"/*.log; e2e_finish; exit 1; }
PORT=$(cat "$WORK/emu.port")
FAKE_PORT=$(cat "$WORK/fake.port")
ENDPOINT=(--amazonec2-endpoint "http://127.0.0.1:$PORT" --amazonec2-insecure-transport)
FAKE_ENDPOINT=(--amazonec2-endpoint "http://127.0.0.1:$FAKE_PORT" --amazonec2-insecure-transport)
export AWS_ACCESS_KEY_ID=$KEY_ID AWS_SECRET_ACCESS_KEY=$SECRET
unset AWS_SESSION_TOKEN AWS_PROFILE
export HOME="$WORK/home" # no ~/.aws of this computer is read
mkdir -p "$HOME"

# --- failures that leave nothing (emulator without hosts) -----------------------------
log "failure cases"
AWS_SECRET_ACCESS_KEY=wrong check_exit "wrong secret: create fails in its pre-create check (exit 3)" 3 \
  dm create -d amazonec2 "${FAKE_ENDPOINT[@]}" bad1
check_contains "wrong secret: EC2's SignatureDoesNotMatch is named" \
  "SignatureDoesNotMatch" "$(cat /tmp/dm-e2e-last.out)"
AWS_ACCESS_KEY_ID=AKIDUNKNOWN check_exit "unknown access key: exit 3" 3 \
  dm create -d amazonec2 "${FAKE_ENDPOINT[@]}" bad1
check_contains "unknown access key: EC2's AuthFailure is named" "AuthFailure" \
  "$(cat /tmp/dm-e2e-last.out)"
check_exit "unknown image: exit 3" 3 dm create -d amazonec2 "${FAKE_ENDPOINT[@]}" \
  --amazonec2-ami ami-0123456789abcdef0 bad2
check_contains "unknown image: InvalidAMIID.NotFound is named" "InvalidAMIID.NotFound" \
  "$(cat /tmp/dm-e2e-last.out)"
fake_ctl inject RunInstances InstanceLimitExceeded 1 >/dev/null
check_exit "quota: RunInstances InstanceLimitExceeded fails the create" 1 \
  dm create -d amazonec2 "${FAKE_ENDPOINT[@]}" bad3
check_contains "quota: the message names InstanceLimitExceeded" "InstanceLimitExceeded" \
  "$(cat /tmp/dm-e2e-last.out)"
fake_ctl inject RunInstances RequestLimitExceeded 3 >/dev/null
check_exit "throttling beyond the retries (--amazonec2-retries 2) fails the create" 1 \
  dm create -d amazonec2 "${FAKE_ENDPOINT[@]}" --amazonec2-retries 2 bad4
check_contains "throttling: the message says it gave up" "gave up after 3 attempts" \
  "$(cat /tmp/dm-e2e-last.out)"
check_exit "after each failure the emulator holds no instance, key pair or group" 0 fake_ctl check-empty
check_eq "after each failure the store holds no machine" "" "$(ls "$E2E_STORE/machines" 2>/dev/null)"

# --- the whole life of one machine ----------------------------------------------------
log "create (the first two RunInstances are throttled)"
ctl inject RunInstances RequestLimitExceeded 2 >/dev/null
dm --debug create -d amazonec2 "${ENDPOINT[@]}" --amazonec2-open-port 8080 ec2a \
  >"$WORK/create.out" 2>"$WORK/create.err"
code=$?
check_eq "create -d amazonec2 succeeds" 0 "$code"
[ "$code" -eq 0 ] || tail -30 "$WORK/create.err"
check_eq "RunInstances was retried after throttling (3 calls)" 3 "$(ctl stats RunInstances)"
check_contains "--debug names the EC2 actions" "ec2: RunInstances (attempt 3) -> 200" \
  "$(cat "$WORK/create.err")"
leaks=$(grep -c -F -e "$SECRET" -e "Signature=" "$WORK/create.out" "$WORK/create.err" | awk -F: '{s+=$2} END {print s}')
check_eq "--debug output holds neither the secret key nor a signature" 0 "$leaks"
check_eq "no secret in any file of the store" "" "$(grep -rl -F "$SECRET" "$E2E_STORE" 2>/dev/null)"
check_eq "the record keeps where the credentials came from" "environment" \
  "$(dm inspect -f '{{.Driver.CredentialSource}}' ec2a)"
check_eq "the default image's user is Debian's admin" "admin" "$(dm inspect -f '{{.Driver.SSHUser}}' ec2a)"
state=$(ctl state)
ami=$(dm inspect -f '{{.Driver.AMI}}' ec2a)
check_eq "the newest Debian 12 image was chosen" "debian-12-amd64-20251112-2294" \
  "$(ctl --credentials "$WORK/creds.json" call DescribeImages ImageId.1="$ami" | grep -o 'debian-12-amd64-[0-9-]*' | head -1)"
key_type=$(jq -r '.key_pairs[0].type // empty' <<<"$state")
check_contains "the imported key pair is ED25519" "ed25519" "$key_type"
gid=$(jq -r '.security_groups[] | select(.name == "docker-machine") | .id' <<<"$state")
rule() { # PROTOCOL PORT PEER: 1 when the group has that rule
  jq --arg g "$gid" --arg p "$1" --argjson f "$2" --arg peer "$3" \
    '[.security_groups[] | select(.id == $g) | .ingress[] | select(.protocol == $p and .from == $f and .peer == $peer)] | length' <<<"$state"
}
check_eq "the group opens SSH to anyone" 1 "$(rule tcp 22 0.0.0.0/0)"
check_eq "the group opens the engine port to anyone" 1 "$(rule tcp 2376 0.0.0.0/0)"
check_eq "the group opens 8080 (--amazonec2-open-port)" 1 "$(rule tcp 8080 0.0.0.0/0)"
check_eq "swarm ports open to members of the group: 2377/tcp 7946/tcp 7946/udp 4789/udp" "1 1 1 1" \
  "$(rule tcp 2377 "$gid") $(rule tcp 7946 "$gid") $(rule udp 7946 "$gid") $(rule udp 4789 "$gid")"
check_eq "and to nobody else" "0 0 0 0" \
  "$(rule tcp 2377 0.0.0.0/0) $(rule tcp 7946 0.0.0.0/0) $(rule udp 7946 0.0.0.0/0) $(rule udp 4789 0.0.0.0/0)"
check_eq "instance, key pair and group are tagged with the machine" "ec2a ec2a" \
  "$(jq -r '[.instances[0].tags["dmachine-machine"], .key_pairs[0].tags["dmachine-machine"]] | join(" ")' <<<"$state")"
jq '.security_groups' <<<"$state" >"$WORK/groups.json"

check_eq "ssh runs a command as admin" "admin" "$(dm ssh ec2a -- whoami 2>/dev/null | tr -d '\r')"
check_eq "status is Running" "Running" "$(dm status ec2a)"
ip1=$(dm ip ec2a)
check_eq "ip is the instance's public address" \
  "$(jq -r '.instances[] | select(.state == "running") | .public_ip' <<<"$state" | head -1)" "$ip1"

(
  set -e
  eval "$(dm env ec2a)"
  busybox=$(command -v busybox || echo /bin/busybox)
  tmp=$(mktemp -d)
  mkdir -p "$tmp/bin" && cp "$busybox" "$tmp/bin/busybox" && ln -s busybox "$tmp/bin/sh"
  tar -C "$tmp" -c . | docker import - dm-e2e-busybox:1 >/dev/null
  rm -rf "$tmp"
  docker run --rm dm-e2e-busybox:1 /bin/busybox echo hello-from-ec2
) >"$WORK/docker.out" 2>&1
check_contains "env + docker run of a local image over TLS" "hello-from-ec2" "$(cat "$WORK/docker.out")"

log "stop / start"
check_exit "stop" 0 dm stop ec2a
check_eq "status is Stopped" "Stopped" "$(dm status ec2a)"
check_exit "start" 0 dm start ec2a
ip2=$(dm ip ec2a)
if [ "$ip1" != "$ip2" ] && [ -n "$ip2" ]; then pass "start gave a new public IP ($ip1 -> $ip2)"; else failed "start gave a new public IP ($ip1 -> $ip2)"; fi
check_eq "the record follows the new IP" "$ip2" "$(dm inspect -f '{{.Driver.IPAddress}}' ec2a)"
sans=$(openssl x509 -in "$E2E_STORE/machines/ec2a/server.pem" -noout -ext subjectAltName 2>/dev/null)
check_contains "the server certificate names the new IP" "$ip2" "$sans"
check_contains "env follows the new IP" "tcp://$ip2:2376" "$(dm env ec2a)"
out=$( (eval "$(dm env ec2a)"; docker run --rm dm-e2e-busybox:1 /bin/busybox echo again) 2>&1)
check_contains "docker --tlsverify works after the IP changed" "again" "$out"

log "restart / kill"
check_exit "restart" 0 dm restart ec2a
# RebootInstances returns at once and the instance stays "running" (as on EC2), so the host
# may still be going down when restart returns: a fresh session is retried, bounded.
ok="" first_error=""
for _ in $(seq 1 12); do
  if out=$(timeout 30 "$DMACHINE" ssh ec2a -- echo ok 2>&1); then ok=$(printf %s "$out" | tr -d '\r'); break; fi
  [ -n "$first_error" ] || first_error=$out
  sleep 5
done
[ -z "$first_error" ] || log "a first ssh after restart failed: $first_error"
check_eq "ssh after restart" "ok" "$ok"
check_exit "kill" 0 dm kill ec2a
check_eq "status after kill is Stopped" "Stopped" "$(dm status ec2a)"

# --- ls over 20 EC2 machines: one DescribeInstances -----------------------------------
log "ls over 20 machines"
ids=$(fake_ctl --credentials "$WORK/creds.json" call RunInstances ImageId="$ami" InstanceType=t3.micro \
  MinCount=20 MaxCount=20 | grep -o '<instanceId>i-[0-9a-f]*</instanceId>' | sed 's/<[^>]*>//g')
check_eq "20 instances made directly in the API-only emulator" 20 "$(echo "$ids" | grep -c .)"
n=0
for id in $ids; do
  n=$((n + 1))
  name=$(printf 'fleet%02d' "$n")
  mkdir -m 700 "$E2E_STORE/machines/$name"
  jq --arg n "$name" --arg id "$id" --arg e "http://127.0.0.1:$FAKE_PORT" --arg d "$E2E_STORE/machines/$name" \
    '.Name = $n | .Driver.MachineName = $n | .Driver.InstanceId = $id | .Driver.Endpoint = $e
     | .Driver.IPAddress = "" | .Driver.SSHKeyPath = ($d + "/id_rsa")
     | .HostOptions.AuthOptions.ServerCertPath = ($d + "/server.pem")
     | .HostOptions.AuthOptions.ServerKeyPath = ($d + "/server-key.pem")' \
    "$E2E_STORE/machines/ec2a/config.json" >"$E2E_STORE/machines/$name/config.json"
  chmod 600 "$E2E_STORE/machines/$name/config.json"
done
sleep 1
mkdir -m 700 "$E2E_STORE/machines/flagged"
jq '.Name = "flagged" | .Driver.MachineName = "flagged" | .Driver.CredentialSource = "flags"' \
  "$E2E_STORE/machines/fleet01/config.json" >"$E2E_STORE/machines/flagged/config.json"
out=$(env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$DMACHINE" status flagged 2>&1)
check_contains "a machine made with key flags: a later command says what to set" \
  "which dmachine never stores: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" "$out"
rm -rf "$E2E_STORE/machines/flagged"
fake_ctl reset >/dev/null
ctl reset >/dev/null
started=$(date +%s%N)
ls_out=$(dm ls --format '{{.Name}} {{.State}}' 2>&1)
log "ls over 21 EC2 machines took $(( ($(date +%s%N) - started) / 1000000 )) ms"
check_eq "ls shows the 20 machines Running" 20 "$(grep -c '^fleet[0-9]* Running$' <<<"$ls_out")"
check_contains "ls shows ec2a Stopped" "ec2a Stopped" "$ls_out"
check_eq "ls over 20 machines of one endpoint: one DescribeInstances call" 1 "$(fake_ctl stats DescribeInstances)"
check_eq "and one for the other endpoint's machine" 1 "$(ctl stats DescribeInstances)"
for id in $ids; do fake_ctl --credentials "$WORK/creds.json" call TerminateInstances InstanceId.1="$id" >/dev/null; done
sleep 1
fake_ctl purge >/dev/null
check_exit "rm of a machine whose instance is already gone succeeds" 0 dm rm -y fleet01
check_eq "and its store entry is gone" "" "$(ls -d "$E2E_STORE/machines/fleet01" 2>/dev/null)"
rm -rf "$E2E_STORE"/machines/fleet*

# --- rm --------------------------------------------------------------------------------
log "rm"
check_exit "rm" 0 dm rm -y ec2a
ctl wait-idle 60 >/dev/null 2>&1
check_exit "the emulator holds nothing (instance, key pair, group, host)" 0 ctl check-empty
sed 's/^/  | /' /tmp/dm-e2e-last.out | head

# --- SSH never answers ----------------------------------------------------------------
log "SSH never answers (the driver waits its full bound, 300 s)"
curl -s -X POST -H 'Content-Type: application/json' -d '{"fault": "no-ssh", "count": 1}' \
  "http://127.0.0.1:$PORT/_emulator/fault" >/dev/null
started=$SECONDS
check_exit "a create whose instance never answers SSH fails" 1 \
  dm create -d amazonec2 "${ENDPOINT[@]}" ec2s
log "it gave up after $((SECONDS - started)) s"
check_contains "and says SSH did not answer" "SSH" "$(cat /tmp/dm-e2e-last.out)"
ctl wait-idle 120 >/dev/null 2>&1
check_exit "it leaves nothing in the emulator" 0 ctl check-empty
check_eq "and nothing in the store" "" "$(ls "$E2E_STORE/machines" 2>/dev/null)"

# --- Ctrl-C while the instance boots ---------------------------------------------------
log "Ctrl-C during create"
ctl reset >/dev/null
"$DMACHINE" create -d amazonec2 "${ENDPOINT[@]}" ec2c >"$WORK/ctrlc.out" 2>&1 &
pid=$!
for _ in $(seq 1 300); do
  [ "$(ctl stats RunInstances)" -ge 1 ] && break
  sleep 0.1
done
sleep 0.5
kill -INT "$pid"
wait "$pid"
check_eq "Ctrl-C during create exits 130" 130 "$?"
ctl wait-idle 60 >/dev/null 2>&1
check_exit "Ctrl-C during create leaves nothing in the emulator" 0 ctl check-empty
check_eq "Ctrl-C during create leaves nothing in the store" "" "$(ls "$E2E_STORE/machines" 2>/dev/null)"

# --- a swarm cluster on EC2 ------------------------------------------------------------
log "cluster create -d amazonec2 --managers 1 --workers 2"
started=$SECONDS
check_exit "cluster create ec" 0 dm cluster create -d amazonec2 "${ENDPOINT[@]}" \
  --managers 1 --workers 2 ec
log "cluster create took $((SECONDS - started)) s"
check_eq "3 Ready nodes" "3" \
  "$( (eval "$(dm cluster env --shell bash ec)"; docker node ls --format '{{.Status}}') | grep -c Ready)"
DMACHINE="$DMACHINE" timeout 600 bash "$DM_SOURCE_DIR/examples/cluster-routing-mesh.sh" ec 3 8080 \
  >"$WORK/mesh" 2>&1
sed 's/^/  | /' "$WORK/mesh"
for node in ec-manager-1 ec-worker-1 ec-worker-2; do
  check_eq "port 8080 answers on $node" "3" "$(grep -c "^  $node (.*) -> task " "$WORK/mesh")"
done
state=$(ctl state)
gid=$(jq -r '.security_groups[] | select(.name == "docker-machine") | .id' <<<"$state")
check_eq "the three instances share the docker-machine group" "3" \
  "$(jq --arg g "$gid" '[.instances[] | select(.state == "running" and (.groups | index($g)))] | length' <<<"$state")"
check_eq "its swarm ports are open to members of the group only" "1 1 1 1 0 0 0 0" \
  "$(rule tcp 2377 "$gid") $(rule tcp 7946 "$gid") $(rule udp 7946 "$gid") $(rule udp 4789 "$gid") \
$(rule tcp 2377 0.0.0.0/0) $(rule tcp 7946 0.0.0.0/0) $(rule udp 7946 0.0.0.0/0) $(rule udp 4789 0.0.0.0/0)"
check_exit "cluster rm ec" 0 dm cluster rm -y ec
ctl wait-idle 60 >/dev/null 2>&1
check_exit "after cluster rm the emulator holds nothing (instances, key pairs, group, hosts)" 0 \
  ctl check-empty
check_eq "and the store holds nothing" "" "$(dm ls -q; dm cluster ls -q)"

e2e_finish
