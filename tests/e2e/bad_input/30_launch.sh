# Bad input: local driver values (pre-create check, exit 3) and records whose
# driver fields name paths on this computer. Sourced by test_bad_input.sh.
bad "--local-memory not a number" 3 '--local-memory: "lots" is not a size in MB' "$DMACHINE" create -d local --local-memory lots lm1
bad "--local-memory negative" 3 '--local-memory: "-5" is not a size in MB' "$DMACHINE" create -d local --local-memory -5 lm2
bad "--local-memory fraction" 3 '--local-memory: "1.5"' "$DMACHINE" create -d local --local-memory 1.5 lm3
bad "--local-memory too small" 3 "--local-memory: 10 MB is too little" "$DMACHINE" create -d local --local-memory 10 lm4
bad "--local-cpus not a number" 3 '--local-cpus: "two" is not a number of CPUs' "$DMACHINE" create -d local --local-cpus two lc1
bad "--local-cpus negative" 3 '--local-cpus: "-1"' "$DMACHINE" create -d local --local-cpus -1 lc2
bad "--local-cpus more than the computer has" 3 "is more than the" "$DMACHINE" create -d local --local-cpus 100000 lc3
bad "LOCAL_MEMORY from the environment" 3 '--local-memory: "1g"' env LOCAL_MEMORY=1g "$DMACHINE" create -d local lm5
bad "--local-image unknown" 3 '--local-image: unknown image "nosuch"' "$DMACHINE" create -d local --local-image nosuch li1

# A record changed by hand: a CacheDir of /etc or an Image that walks out of the cache
# makes an Error row and refuses every command; nothing outside the store is touched.
# (Netns and Veth are dropped: the driver derives them from the machine's own directory.)
tamper_local() { # NAME KEY JSON-VALUE: a copy of stop1's record with one driver field changed
  local dir="$E2E_STORE/machines/$1"
  mkdir -p "$dir" && cp -a "$E2E_STORE/machines/stop1/." "$dir/" && rm -rf "$dir/local"
  sed -i "s|\"MachineName\": *\"stop1\"|\"MachineName\": \"$1\"|; s|\"Name\": *\"stop1\"|\"Name\": \"$1\"|" "$dir/config.json"
  python3 -c 'import json,sys; p=sys.argv[1]; d=json.load(open(p)); d["Driver"][sys.argv[2]]=json.loads(sys.argv[3]); [d["Driver"].pop(k, None) for k in ("Netns", "Veth")]; json.dump(d,open(p,"w"),indent=4)' "$dir/config.json" "$2" "$3"
}
if command -v python3 >/dev/null; then
  tamper_local tcache CacheDir '"/etc"'
  tamper_local timage Image '"../../../../etc"'
  bad "start with CacheDir /etc" 1 'CacheDir "/etc" is not an image cache' "$DMACHINE" start tcache
  bad "start with an Image outside the cache" 1 'Image "../../../../etc"' "$DMACHINE" start timage
  check_contains "ls: tampered CacheDir is an Error row with the reason" "is not an image cache" "$(dm ls --filter name=tcache --format '{{.State}} {{.Error}}')"
  etc_before=$(ls -la /etc | sha256sum)
  check_exit "rm -f forgets a tampered record" 0 dm rm -f tcache timage
  check_eq "rm -f touched nothing in /etc" "$etc_before" "$(ls -la /etc | sha256sum)"
  check_eq "the tampered machines are gone" "" "$(ls "$E2E_STORE/machines" | grep -E '^t(cache|image)$')"
else
  failed "python3 is missing: cannot write the tampered records"
fi
