# Bad input: clusters (files with unknown keys or driver options, bad counts, missing
# clusters). Sourced by test_bad_input.sh; nothing here may make a machine or a record.
# The binary is called directly: `bad` runs its command under timeout(1), which cannot run
# a shell function such as dm.
cl_dir=$(mktemp -d)
# cl_file NAME: writes stdin to a cluster file and prints its path
cl_file() { cat >"$cl_dir/$1.yml" && echo "$cl_dir/$1.yml"; }
one_manager='groups: [{role: manager, count: 1}]'

bad "cluster: no subcommand" 1 "remove-node" "$DMACHINE" cluster
bad "cluster: unknown subcommand" 1 'unknown command "frob"' "$DMACHINE" cluster frob
bad "cluster create: no name" 1 "No cluster name specified" "$DMACHINE" cluster create
bad "cluster create: invalid name" 1 'Invalid cluster name "bad_name"' "$DMACHINE" cluster create bad_name
bad "cluster create: zero managers" 1 "at least one manager" "$DMACHINE" cluster create --managers 0 --workers 1 z
bad "cluster create: negative count" 1 "--managers" "$DMACHINE" cluster create --managers -1 z
bad "cluster create: count over 100" 1 "--workers" "$DMACHINE" cluster create --workers 101 z
bad "cluster create: count not a number" 1 "--workers" "$DMACHINE" cluster create --workers many z
bad "cluster create: a node name taken by a machine" 1 'Docker machine "run1" already exists' \
  "$DMACHINE" cluster create -f "$(printf 'name: t1\ngroups: [{role: manager, names: [run1]}]\n' | cl_file taken)"
bad "cluster create: missing file" 1 "cluster file" "$DMACHINE" cluster create -f "$cl_dir/nope.yml"
bad "cluster create: not YAML" 1 "not valid YAML" \
  "$DMACHINE" cluster create -f "$(printf 'name: [x\n' | cl_file notyaml)"
bad "cluster file: unknown key" 1 'unknown key "nmae"' \
  "$DMACHINE" cluster create -f "$(printf 'nmae: x\n%s\n' "$one_manager" | cl_file topkey)"
bad "cluster file: unknown group key" 1 'unknown key "cuont"' \
  "$DMACHINE" cluster create -f "$(printf 'name: x\ngroups: [{role: manager, cuont: 1}]\n' | cl_file groupkey)"
bad "cluster file: unknown driver_options key" 1 'unknown key "local-memroy"' \
  "$DMACHINE" cluster create -f "$(printf 'name: x\ndriver: local\ndriver_options: {local-memroy: 512}\n%s\n' "$one_manager" | cl_file optkey)"
bad "cluster file: another driver's option" 1 'unknown key "generic-ip-address"' \
  "$DMACHINE" cluster create -f "$(printf 'name: x\ndriver: local\ndriver_options: {generic-ip-address: 10.0.0.1}\n%s\n' "$one_manager" | cl_file otherdriver)"
bad "cluster file: a node's unknown driver_options key" 1 'node "x-a": driver_options: unknown key "local-cpu"' \
  "$DMACHINE" cluster create -f "$(printf 'name: x\ndriver: local\ngroups: [{role: manager, names: [{name: x-a, driver_options: {local-cpu: 1}}]}]\n' | cl_file nodekey)"
bad "cluster file: a driver option of the wrong type" 3 'driver_options.local-memory: "lots" is not a whole number' \
  "$DMACHINE" cluster create -f "$(printf 'name: x\ndriver: local\ndriver_options: {local-memory: lots}\n%s\n' "$one_manager" | cl_file opttype)"
bad "cluster file: a list for a one-value option" 3 "driver_options.local-image: expected one value" \
  "$DMACHINE" cluster create -f "$(printf 'name: x\ndriver: local\ndriver_options: {local-image: [a, b]}\n%s\n' "$one_manager" | cl_file optlist)"
bad "cluster file: a bad value is checked even when the environment sets the option" 3 '"lots" is not a whole number' \
  env LOCAL_MEMORY=512 "$DMACHINE" cluster create -f "$cl_dir/opttype.yml"
bad "cluster file: unknown driver" 1 'Driver "nodriver" not found' \
  "$DMACHINE" cluster create -f "$(printf 'name: x\ndriver: nodriver\n%s\n' "$one_manager" | cl_file nodriver)"
bad "cluster file: bad role" 1 'unknown role "boss"' \
  "$DMACHINE" cluster create -f "$(printf 'name: x\ngroups: [{role: boss, count: 1}]\n' | cl_file role)"
bad "cluster file: negative count" 1 'expected a number from 0 to 100, got "-1"' \
  "$DMACHINE" cluster create -f "$(printf 'name: x\ngroups: [{role: manager, count: -1}]\n' | cl_file negcount)"
bad "cluster file: count and names" 1 "give count or names, not both" \
  "$DMACHINE" cluster create -f "$(printf 'name: x\ngroups: [{role: manager, count: 1, names: [a]}]\n' | cl_file both)"
bad "cluster file: no groups" 1 "groups: expected a list" \
  "$DMACHINE" cluster create -f "$(printf 'name: x\n' | cl_file nogroups)"
bad "cluster file: a node twice" 1 'node "x-a" is listed twice' \
  "$DMACHINE" cluster create -f "$(printf 'name: x\ngroups: [{role: manager, names: [x-a, x-a]}]\n' | cl_file twice)"
bad "cluster file: names disagree" 1 'the file names the cluster "x"' \
  "$DMACHINE" cluster create -f "$(printf 'name: x\n%s\n' "$one_manager" | cl_file named)" y
bad "cluster file: --managers 0 over the file" 1 "at least one manager" \
  "$DMACHINE" cluster create -f "$cl_dir/named.yml" --managers 0
bad "cluster status: missing cluster" 1 'Cluster "nope" does not exist' "$DMACHINE" cluster status nope
bad "cluster env: missing cluster" 1 'Cluster "nope" does not exist' "$DMACHINE" cluster env nope
bad "cluster rm: missing cluster" 1 'Cluster "nope" does not exist' "$DMACHINE" cluster rm -y nope
bad "cluster add: missing cluster" 1 'Cluster "nope" does not exist' "$DMACHINE" cluster add nope --workers 1
bad "cluster add: no count" 1 "say how many nodes to add" "$DMACHINE" cluster add nope
bad "cluster remove-node: missing cluster" 1 'Cluster "nope" does not exist' "$DMACHINE" cluster remove-node nope nope-worker-1
bad "cluster promote: no node" 1 "one or more node names" "$DMACHINE" cluster promote nope
bad "cluster promote: missing cluster" 1 'Cluster "nope" does not exist' "$DMACHINE" cluster promote nope nope-worker-1
bad "cluster ls: bad format" 1 'only "json" is supported' "$DMACHINE" cluster ls --format yaml
rm -rf "$cl_dir"
