# Bad input: the local driver's network (subnet and bridge collisions, tampered records).
# Sourced by test_bad_input.sh; run1 runs on $LOCAL_BRIDGE ($LOCAL_SUBNET), made by dmachine.
bad "subnet overlapping loopback" 3 "overlaps 127.0.0.1/8 on interface lo" \
  dm create -d local --no-provision --local-bridge "${LOCAL_BRIDGE}y" --local-subnet 127.0.0.0/24 ln1
bad "bridge name that is an interface but no bridge" 3 'an interface named "lo" exists and is not a bridge' \
  dm create -d local --no-provision --local-bridge lo ln2
bad "bridge name .." 3 "is not a valid interface name" \
  dm create -d local --no-provision --local-bridge .. ln3
bad "bridge name with a space" 3 "is not a valid interface name" \
  dm create -d local --no-provision --local-bridge "br 0" ln4
bad "second bridge for a subnet a dmachine bridge serves" 3 \
  "already served by bridge $LOCAL_BRIDGE (made by dmachine)" \
  dm create -d local --no-provision --local-bridge "${LOCAL_BRIDGE}z" ln5
bad "dmachine's bridge with another subnet" 3 \
  "bridge $LOCAL_BRIDGE was made by dmachine for the subnet $LOCAL_SUBNET" \
  dm create -d local --no-provision --local-subnet 198.51.100.0/24 ln6
bad "subnet with host bits and a /16" 3 "is not an IPv4 /24 network" \
  dm create -d local --no-provision --local-subnet 10.213.0.0/16 ln7

# Records whose network fields were edited: every command says why, nothing is touched.
for field in 'Veth = "eth0"' 'Netns = "../../x"' 'Bridge = "eth0 x"' 'Subnet = "10.0.0.0/8"' \
  'IPAddress = "192.0.2.1"'; do
  rm -rf "$E2E_STORE/machines/lnt"
  cp -a "$E2E_STORE/machines/stop1" "$E2E_STORE/machines/lnt"
  jq ".Name = \"lnt\" | .Driver.MachineName = \"lnt\" | .Driver.${field}" \
    "$E2E_STORE/machines/stop1/config.json" >"$E2E_STORE/machines/lnt/config.json"
  # Netns and Veth are made from the directory: the copy carries lnt's own (empty: derived)
  # except for the field under test.
  case $field in
  Veth*) derived='.Driver.Netns = ""' ;;
  Netns*) derived='.Driver.Veth = ""' ;;
  *) derived='.Driver.Netns = "" | .Driver.Veth = ""' ;;
  esac
  jq "$derived" "$E2E_STORE/machines/lnt/config.json" >"$E2E_STORE/lnt.json"
  mv "$E2E_STORE/lnt.json" "$E2E_STORE/machines/lnt/config.json"
  bad "start with a tampered Driver.${field%% *}" 1 "config.json: Driver.${field%% *}" dm start lnt
  bad "status with a tampered Driver.${field%% *}" 1 "Driver.${field%% *}" dm status lnt
done
dm rm -f lnt >/dev/null 2>&1
