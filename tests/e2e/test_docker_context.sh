#!/usr/bin/env bash
# e2e: the docker context that create registers, checked with the real docker
# client: `docker --context NAME info`, `docker context ls`, regenerate-certs,
# `dmachine use NAME` / `use -u`, a context dmachine did not make left alone, and
# nothing left after rm. env stays byte for byte what it was.
source "$(dirname "$0")/lib.sh"
e2e_init
command -v docker >/dev/null || skip "the docker client is missing (apt-get install docker.io)"
D="$DOCKER_CONFIG"
id_of() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

# Someone's own context "theirs", and a config.json with keys of its own.
theirs=$(id_of theirs)
mkdir -p "$D/contexts/meta/$theirs"
printf '%s' '{"Name":"theirs","Metadata":{"Description":"mine"},"Endpoints":{"docker":{"Host":"tcp://127.0.0.1:1","SkipTLSVerify":false}}}' \
  >"$D/contexts/meta/$theirs/meta.json"
printf '{\n\t"psFormat": "table {{.ID}}",\n\t"auths": {}\n}\n' >"$D/config.json"

check_exit "create ctx1 (local)" 0 dm create -d local ctx1
id=$(id_of ctx1)
check_eq "meta.json names the context" "ctx1" \
  "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Name"])' "$D/contexts/meta/$id/meta.json")"
check_eq "key.pem is 0600" "600" "$(stat -c %a "$D/contexts/tls/$id/docker/key.pem")"
check_eq "tls dir is 0700" "700" "$(stat -c %a "$D/contexts/tls/$id/docker")"
check_eq "docker --context ctx1 info reaches the machine" "ctx1" \
  "$(docker --context ctx1 info --format '{{.Name}}' 2>&1)"
check_contains "docker context ls lists it" "tcp://$(dm ip ctx1):2376" "$(docker context ls 2>&1)"
check_contains "docker context ls still lists theirs" "theirs" "$(docker context ls 2>&1)"

env_before=$(dm env ctx1)
check_exit "regenerate-certs -f ctx1" 0 dm regenerate-certs -f ctx1
check_eq "the context works after regenerate-certs" "ctx1" \
  "$(docker --context ctx1 info --format '{{.Name}}' 2>&1)"
check_eq "env is unchanged by contexts" "$env_before" "$(dm env ctx1)"

check_exit "use ctx1" 0 dm use ctx1
check_eq "plain docker info reaches ctx1" "ctx1" \
  "$(env -u DOCKER_HOST docker info --format '{{.Name}}' 2>&1)"
check_eq "config.json keeps its other keys" "table {{.ID}}|{}|ctx1" \
  "$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); print(c["psFormat"]+"|"+json.dumps(c["auths"])+"|"+c["currentContext"])' "$D/config.json")"
check_eq "config.json is 0600" "600" "$(stat -c %a "$D/config.json")"
check_exit "use -u" 0 dm use -u
check_eq "use -u: back to the default context" "default" \
  "$(docker context show 2>&1)"

out=$(dm create -d local theirs 2>&1)
check_eq "create theirs succeeds" 0 $?
check_contains "create theirs: their context is not overwritten, and it says so" \
  "not made by this dmachine store" "$out"
check_eq "their meta.json unchanged" "tcp://127.0.0.1:1" \
  "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Endpoints"]["docker"]["Host"])' "$D/contexts/meta/$theirs/meta.json")"
check_exit "create ctx2 --docker-context=false" 0 dm create -d local --docker-context=false ctx2
check_eq "no context for ctx2" "no" "$([ -e "$D/contexts/meta/$(id_of ctx2)" ] && echo yes || echo no)"
check_exit "use theirs: refused (not ours)" 1 dm use theirs
check_contains "use theirs says why" "not made by this dmachine store" "$(dm use theirs 2>&1)"

check_exit "use ctx1 again" 0 dm use ctx1
check_exit "rm -y ctx1 ctx2 theirs" 0 dm rm -y ctx1 ctx2 theirs
check_eq "meta dir gone" "no" "$([ -e "$D/contexts/meta/$id" ] && echo yes || echo no)"
check_eq "tls dir gone" "no" "$([ -e "$D/contexts/tls/$id" ] && echo yes || echo no)"
check_eq "currentContext reset (it was ours)" "" \
  "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("currentContext",""))' "$D/config.json")"
check_eq "their context survives rm of the machine theirs" "yes" \
  "$([ -e "$D/contexts/meta/$theirs/meta.json" ] && echo yes || echo no)"
check_eq "docker context ls no longer lists ctx1" "" "$(docker context ls -q 2>&1 | grep -x ctx1)"
e2e_finish
