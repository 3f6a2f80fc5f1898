# adopt_dm_fixture STORE IP KEY: copies the docker-machine store fixture (record
# node1) into STORE, pointed at IP (never the fixture's own address) with a copy
# of the SSH private key KEY, and the store paths of the record made STORE's.
adopt_dm_fixture() {
  local store=$1 ip=$2 key=$3
  mkdir -p "$store"
  cp -r "$DM_SOURCE_DIR/tests/fixtures/docker-machine-store/." "$store/"
  chmod -R u+w "$store"
  cp "$key" "$store/machines/node1/id_ed25519"
  python3 - "$store/machines/node1/config.json" "$ip" "$store" <<'PY'
import json, sys
path, ip, store = sys.argv[1:]
doc = json.load(open(path))
doc["Driver"]["IPAddress"] = ip
doc["Driver"]["SSHKeyPath"] = store + "/machines/node1/id_ed25519"
doc["Driver"]["SSHKey"] = store + "/machines/node1/id_ed25519"
doc["Driver"]["StorePath"] = store
auth = doc["HostOptions"]["AuthOptions"]
for k, v in list(auth.items()):
    if isinstance(v, str):
        auth[k] = v.replace("/home/alice/.docker/machine", store)
json.dump(doc, open(path, "w"), indent=4)
PY
}
