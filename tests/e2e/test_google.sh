#!/usr/bin/env bash
# The google driver against the GCE emulator (tests/emulators/gce), whose instances
# are real local machines: create -> ssh -> env + docker run -> stop -> start ->
# restart -> kill -> rm, and nothing left in the emulator; a quota error on insert
# leaves nothing; a bad key and a missing token are refused clearly; --debug shows
# every HTTP call and no secret.
source "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || skip "needs root (the emulator's instances are local machines)"
command -v python3 >/dev/null || skip "python3 is missing"
python3 -c 'import cryptography' 2>/dev/null || skip "python3-cryptography is missing"
command -v jq >/dev/null || skip "jq is missing"
command -v docker >/dev/null || skip "the docker client is missing (apt-get install docker.io)"
command -v busybox >/dev/null || skip "busybox is missing (apt-get install busybox-static)"
e2e_init

work=$(mktemp -d /tmp/dm-e2e-google.XXXXXX)
emu_pid=""
stop_emulator() {
  if [ -n "$emu_pid" ]; then
    kill -TERM "$emu_pid" 2>/dev/null
    for _ in $(seq 1 120); do kill -0 "$emu_pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$emu_pid" 2>/dev/null && kill -KILL "$emu_pid"
    emu_pid=""
  fi
}
# Machines first (lib's cleanup runs after this), so: rm them here, then the emulator.
gce_bridge=${GCE_LOCAL_BRIDGE:-dmgced0}
# The local driver keeps an emptied lease directory per bridge; this suite's goes too.
forget_bridge() {
  local dir=/var/lib/dmachine/local/$gce_bridge
  if [ -d "$dir" ] && [ ! -s "$dir/leases" ] && ! ip link show "$gce_bridge" >/dev/null 2>&1; then
    rm -rf "$dir"
  fi
}
e2e_on_exit 'names=$(ls "$E2E_STORE/machines" 2>/dev/null); [ -n "$names" ] && timeout 300 "$DMACHINE" rm -f -y $names >/dev/null 2>&1; stop_emulator; forget_bridge; rm -rf "$work"'

vectors=$DM_SOURCE_DIR/tests/vectors
email=provisioner@example-project.iam.gserviceaccount.com
# gcloud's application-default credentials (authorized user); the token_uri is set below.
mkdir -p "$work/gcloud"
cat >"$work/adc-user.json" <<'JSON'
{"type": "authorized_user", "client_id": "e2e-client.apps.googleusercontent.com",
 "client_secret": "e2e-client-secret-not-real", "refresh_token": "1//e2e-refresh-token-not-real"}
JSON
python3 "$DM_SOURCE_DIR/tests/emulators/gce/gce_emulator.py" \
  --service-account "$email=$vectors/jws/rfc7515-a2-rsa-public.spki.pem" \
  --authorized-user "$work/adc-user.json" \
  --dmachine "$DMACHINE" --port-file "$work/port" --log "$work/emulator.log" \
  --local-subnet "${GCE_LOCAL_SUBNET:-10.213.242.0/24}" --local-bridge "$gce_bridge" 2>>"$work/emulator.stderr" &
emu_pid=$!
for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || { cat "$work/emulator.log" >&2; failed "the emulator started"; e2e_finish; exit 1; }
port=$(cat "$work/port")
base=http://127.0.0.1:$port
jq --arg u "$base/token" '.token_uri=$u' "$vectors/gce/auth/service-account-key.json" >"$work/sa.json"
adc_file=$work/gcloud/application_default_credentials.json
export GOOGLE_COMPUTE_ENDPOINT=$base/compute/v1/
export GOOGLE_PROJECT=example-project
# No gcloud file of the caller's may be used.
export CLOUDSDK_CONFIG=$work/gcloud
unset GOOGLE_APPLICATION_CREDENTIALS
# An access token for the tests' own calls, as the driver gets one (signed JWT).
sa_token() {
  echo "$(curl -s --max-time 10 -X POST "$base/token" \
  --data-urlencode grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer \
  --data-urlencode "assertion=$(python3 - "$work/sa.json" "$base/token" <<'PY'
import json, sys, time, base64
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
k = json.load(open(sys.argv[1]))
b = lambda d: base64.urlsafe_b64encode(d).rstrip(b"=").decode()
now = int(time.time())
inp = b(b'{"alg":"RS256","typ":"JWT"}') + "." + b(json.dumps({"iss": k["client_email"], "scope": "https://www.googleapis.com/auth/compute", "aud": sys.argv[2], "iat": now, "exp": now + 600}).encode())
key = serialization.load_pem_private_key(k["private_key"].encode(), None)
print(inp + "." + b(key.sign(inp.encode(), padding.PKCS1v15(), hashes.SHA256())))
PY
)" | jq -r .access_token)"
}
api() { curl -s --max-time 60 -H "Authorization: Bearer $token" "$@"; }
emu() { curl -s --max-time 10 "$base/_emulator/$1" "${@:2}"; }
state_count() { emu state | jq "[.instances[]?] | length"; }
rules_count() { emu state | jq "[.firewalls[]?] | length"; }

log "API without a token is refused"
check_eq "instances.list without a token: 401" "401" \
  "$(curl -s -o /dev/null -w '%{http_code}' "$base/compute/v1/projects/example-project/zones/us-central1-a/instances")"

log "no credentials at all: create says what to set"
check_exit "create without credentials fails (precreate, exit 3)" 3 dm create -d google gnone
check_contains "it names --google-credentials and GOOGLE_APPLICATION_CREDENTIALS" \
  "GOOGLE_APPLICATION_CREDENTIALS" "$(cat /tmp/dm-e2e-last.out)"

log "a bad key: the token endpoint's refusal is said"
python3 - "$work/sa.json" "$work/bad.json" <<'PY'
import json, sys
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives import serialization
key = json.load(open(sys.argv[1]))
other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
key["private_key"] = other.private_bytes(serialization.Encoding.PEM,
    serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
json.dump(key, open(sys.argv[2], "w"))
PY
check_exit "create with a key Google does not know fails at the pre-create check" 3 \
  dm create -d google --google-credentials "$work/bad.json" gbad
check_contains "Google's reason is shown" "invalid_grant: Invalid JWT Signature." "$(cat /tmp/dm-e2e-last.out)"
check_eq "nothing in the store" "" "$(ls "$E2E_STORE/machines" 2>/dev/null)"

log "quota error on insert: nothing left"
emu inject -X POST -d '{"action":"instances.insert","code":"QUOTA_EXCEEDED","count":1}' >/dev/null
check_exit "create fails on a quota error" 1 dm create -d google --google-credentials "$work/sa.json" gquota
out=$(cat /tmp/dm-e2e-last.out)
check_contains "Google's quota message and code are shown" "QUOTA_EXCEEDED" "$out"
check_eq "no instance in the emulator" "0" "$(state_count)"
check_eq "no firewall rule in the emulator" "0" "$(rules_count)"
check_eq "nothing in the store" "" "$(ls "$E2E_STORE/machines" 2>/dev/null)"

log "throttling beyond the retries: nothing left"
emu inject -X POST -d '{"action":"instances.insert","code":429,"count":20}' >/dev/null
check_exit "create fails when Google keeps answering 429" 1 \
  dm create -d google --google-credentials "$work/sa.json" gthrottle
check_contains "Google's reason is shown" "rateLimitExceeded" "$(cat /tmp/dm-e2e-last.out)"
check_eq "six insert calls (the first and five retries)" "6" \
  "$(emu stats | jq '.errors["compute.instances.insert 429"]')"
emu inject/clear -X POST >/dev/null
check_eq "no instance in the emulator" "0" "$(state_count)"
check_eq "no firewall rule in the emulator" "0" "$(rules_count)"
check_eq "nothing in the store" "" "$(ls "$E2E_STORE/machines" 2>/dev/null)"

log "Ctrl-C while the instance is being made: nothing left"
"$DMACHINE" create -d google --google-credentials "$work/sa.json" gint >"$work/int.out" 2>&1 &
create_pid=$!
for _ in $(seq 1 100); do [ "$(state_count)" != 0 ] && break; sleep 0.2; done
check_eq "the instance appeared" "1" "$(state_count)"
kill -INT "$create_pid"
wait "$create_pid"
check_eq "create exits 130 after Ctrl-C" "130" "$?"
check_eq "no instance in the emulator" "0" "$(state_count)"
check_eq "no firewall rule in the emulator" "0" "$(rules_count)"
check_eq "nothing in the store" "" "$(ls "$E2E_STORE/machines" 2>/dev/null)"

log "create with --debug"
started=$SECONDS
dm --debug create -d google --google-credentials "$work/sa.json" --google-open-port 8080/tcp g1 \
  >"$work/create.out" 2>&1
code=$?
check_eq "create -d google succeeds [$((SECONDS - started))s]" "0" "$code"
[ "$code" = 0 ] || tail -30 "$work/create.out"
check_contains "--debug shows the token call" "POST $base/token" "$(cat "$work/create.out")"
check_contains "--debug shows the insert" "POST $base/compute/v1/projects/example-project/zones/us-central1-a/instances" "$(cat "$work/create.out")"
check_contains "--debug shows operation waits" "/wait" "$(cat "$work/create.out")"
check_eq "no access token in the output" "0" "$(grep -c 'ya29' "$work/create.out")"
check_eq "no private key in the output" "0" "$(grep -c 'PRIVATE KEY\|MIIEv' "$work/create.out")"
check_eq "no JWT assertion in the output" "0" "$(grep -c 'eyJhbGciOiJSUzI1NiI' "$work/create.out")"
check_eq "no secret in the store" "0" \
  "$(grep -rl 'ya29\|PRIVATE KEY-----\|MIIEv' "$E2E_STORE" --exclude=id_rsa --exclude='*key.pem' 2>/dev/null | wc -l)"
check_eq "config.json records where the credentials are" "--google-credentials $work/sa.json" \
  "$(jq -r '.Driver.CredentialsSource + " " + .Driver.CredentialsPath' "$E2E_STORE/machines/g1/config.json")"
check_eq "the image was resolved from the debian-12 family" "projects/debian-cloud/global/images/debian-12-bookworm-v20231115" \
  "$(jq -r .Driver.MachineImage "$E2E_STORE/machines/g1/config.json")"
fw=$(emu state)
check_eq "engine rule: 22 and 2376 from anywhere to tag dmachine" '[{"IPProtocol":"tcp","ports":["22","2376"]}] ["0.0.0.0/0"] ["dmachine"]' \
  "$(echo "$fw" | jq -c '.firewalls[] | select(.name=="dmachine-engine") | .allowed, .sourceRanges, .targetTags' | tr '\n' ' ' | sed 's/ $//')"
check_eq "swarm rule: only from tag dmachine to tag dmachine" '["dmachine"] ["dmachine"] null' \
  "$(echo "$fw" | jq -c '.firewalls[] | select(.name=="dmachine-swarm") | .sourceTags, .targetTags, .sourceRanges' | tr '\n' ' ' | sed 's/ $//')"
check_eq "swarm ports" '[{"IPProtocol":"tcp","ports":["2377","7946"]},{"IPProtocol":"udp","ports":["7946","4789"]}]' \
  "$(echo "$fw" | jq -c '.firewalls[] | select(.name=="dmachine-swarm") | .allowed')"
check_eq "open-port rule: 8080/tcp" '[{"IPProtocol":"tcp","ports":["8080"]}]' \
  "$(echo "$fw" | jq -c '.firewalls[] | select(.name|startswith("dmachine-ports-")) | .allowed')"

log "ssh, env and docker run"
check_eq "ssh as docker-user" "docker-user" "$(dm ssh g1 -- id -un)"
check_eq "state Running" "Running" "$(dm status g1)"
check_contains "ls shows the machine with its driver, state and URL" "g1 google Running tcp://" \
  "$(dm ls --format '{{.Name}} {{.DriverName}} {{.State}} {{.URL}}')"
mkdir -p "$work/bb/bin"
cp "$(command -v busybox)" "$work/bb/bin/busybox"
ln -s busybox "$work/bb/bin/echo"
tar -C "$work/bb" -cf "$work/bb.tar" .
(
  eval "$(dm env g1)"
  docker import "$work/bb.tar" bb:local >/dev/null && docker run --rm bb:local echo hello-from-gce
) >"$work/run.out" 2>&1
check_contains "docker run of a local image over TLS" "hello-from-gce" "$(cat "$work/run.out")"

log "stop, start, restart, kill"
check_exit "stop" 0 dm stop g1
check_eq "state Stopped" "Stopped" "$(dm status g1)"
check_eq "instance TERMINATED" "TERMINATED" "$(emu state | jq -r '.instances[] | select(.name=="g1") | .status')"
# As if the instance had come back with another external address: the record is set to
# an unused address of the emulator's own subnet (nothing is sent to it).
cfg=$E2E_STORE/machines/g1/config.json
jq '.Driver.IPAddress="10.213.242.250"' "$cfg" >"$cfg.new" && mv "$cfg.new" "$cfg"
check_exit "start" 0 dm start g1
check_contains "a new address: the engine certificate is made again" "the IP address changed from 10.213.242.250" \
  "$(cat /tmp/dm-e2e-last.out)"
check_eq "state Running after start" "Running" "$(dm status g1)"
check_eq "config IPAddress is the instance's natIP" \
  "$(emu state | jq -r '.instances[] | select(.name=="g1") | .natIP')" \
  "$(jq -r .Driver.IPAddress "$E2E_STORE/machines/g1/config.json")"
check_contains "env after start" "tcp://$(emu state | jq -r '.instances[] | select(.name=="g1") | .natIP'):2376" "$(dm env g1)"
check_contains "docker after start" "hello-from-gce" \
  "$(eval "$(dm env g1)"; docker run --rm bb:local echo hello-from-gce 2>&1)"
check_exit "restart" 0 dm restart g1
check_eq "ssh after restart" "docker-user" "$(dm ssh g1 -- id -un)"
check_exit "kill" 0 dm kill g1
check_eq "state Stopped after kill" "Stopped" "$(dm status g1)"
check_exit "ip of a stopped machine fails" 1 dm ip g1
check_contains "saying it is not running" "not running" "$(cat /tmp/dm-e2e-last.out)"

log "rm"
check_exit "rm (with --debug)" 0 dm --debug rm -y g1
rm_out=$(cat /tmp/dm-e2e-last.out)
check_contains "--debug shows the instance delete" "DELETE $base/compute/v1/projects/example-project/zones/us-central1-a/instances/g1" "$rm_out"
check_contains "--debug shows the rule deletes" "DELETE $base/compute/v1/projects/example-project/global/firewalls/dmachine-engine" "$rm_out"
check_eq "no access token in rm's output" "0" "$(grep -c 'ya29' /tmp/dm-e2e-last.out)"
check_eq "no instance left in the emulator" "0" "$(state_count)"
check_eq "no firewall rule left in the emulator" "0" "$(rules_count)"
check_eq "store entry gone" "" "$(ls "$E2E_STORE/machines" 2>/dev/null)"

log "rm when the instance is already gone"
jq --arg u "$base/token" '.token_uri=$u' "$work/adc-user.json" >"$adc_file"
emu inject -X POST -d '{"action":"instances.insert","code":503,"count":2}' >/dev/null
check_exit "create g2 with gcloud's application-default credentials, through two 503s" 0 \
  dm create -d google g2
check_eq "config.json says application-default" "application-default" \
  "$(jq -r .Driver.CredentialsSource "$E2E_STORE/machines/g2/config.json")"
check_eq "the two 503s were retried" "2" "$(emu stats | jq '.errors["compute.instances.insert 503"]')"
check_eq "no refresh token in the store" "0" "$(grep -rl 'e2e-refresh-token\|e2e-client-secret' "$E2E_STORE" | wc -l)"
token=$(sa_token)
api -X DELETE "$base/compute/v1/projects/example-project/zones/us-central1-a/instances/g2" >/dev/null
for _ in $(seq 1 60); do [ "$(state_count)" = 0 ] && break; sleep 0.5; done
check_eq "the instance was deleted behind dmachine's back" "0" "$(state_count)"
check_exit "rm of a machine whose instance is gone" 0 dm rm -y g2
check_eq "its firewall rules went too" "0" "$(rules_count)"

log "--google-use-existing: an instance made outside dmachine is taken over and left on rm"
api -X POST -H 'Content-Type: application/json' \
  "$base/compute/v1/projects/example-project/zones/us-central1-a/instances" -d '{
  "name": "gex", "machineType": "zones/us-central1-a/machineTypes/e2-small",
  "tags": {"items": ["mine"]},
  "disks": [{"boot": true, "autoDelete": true, "type": "PERSISTENT",
             "initializeParams": {"sourceImage": "projects/debian-cloud/global/images/family/debian-12"}}],
  "networkInterfaces": [{"network": "global/networks/default",
                         "accessConfigs": [{"name": "External NAT", "type": "ONE_TO_ONE_NAT"}]}]}' >/dev/null
for _ in $(seq 1 120); do
  [ "$(emu state | jq -r '.instances[] | select(.name=="gex") | .status')" = RUNNING ] && break
  sleep 0.5
done
check_exit "create --google-use-existing" 0 dm create -d google --google-use-existing gex
check_eq "ssh into the taken-over instance" "docker-user" "$(dm ssh gex -- id -un)"
check_eq "the instance carries dmachine's tag" '["dmachine","mine"]' \
  "$(emu state | jq -c '.instances[] | select(.name=="gex") | .tags | sort')"
check_exit "rm of the taken-over machine" 0 dm rm -y gex
check_eq "the instance stays, with its own tags only" '["mine"]' \
  "$(emu state | jq -c '.instances[] | select(.name=="gex") | .tags')"
check_eq "dmachine's firewall rules went" "0" "$(rules_count)"
api -X DELETE "$base/compute/v1/projects/example-project/zones/us-central1-a/instances/gex" >/dev/null
for _ in $(seq 1 60); do [ "$(state_count)" = 0 ] && break; sleep 0.5; done

check_eq "dmachine made no API call without a valid token (the only 401 is the test's own)" "1" \
  "$(emu stats | jq '[.errors | to_entries[] | select(.key | endswith(" 401"))] | length')"
e2e_finish
