# Shared helpers for the e2e suites: a private store per suite, assertions that
# count passes and failures, and a cleanup that removes every machine made.
# Each suite sources this file, calls e2e_init, runs checks, then e2e_finish.
set -uo pipefail

E2E_PASSED=0
E2E_FAILED=0
E2E_NAME=$(basename "${BASH_SOURCE[1]:-$0}" .sh)
: "${DMACHINE:?set DMACHINE to the dmachine binary}"
: "${DM_SOURCE_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
# One image cache for every suite and run: building it is the expensive part.
export LOCAL_CACHE_DIR="${LOCAL_CACHE_DIR:-/var/cache/dmachine/local}"

log() { printf '[%s] %s: %s\n' "$(date +%H:%M:%S)" "$E2E_NAME" "$*" >&2; }

# Prints why and exits 77 (CTest's skip code) when a prerequisite is missing.
skip() {
  echo "SKIP $E2E_NAME: $*" >&2
  exit 77
}

require_root() {
  [ "$(id -u)" -eq 0 ] || skip "needs root (the local driver makes namespaces, mounts and cgroups)"
}

e2e_init() {
  require_root
  E2E_STORE=$(mktemp -d "/tmp/dm-e2e-${E2E_NAME}.XXXXXX")
  export MACHINE_STORAGE_PATH="$E2E_STORE"
  # create registers docker contexts: never in the user's own ~/.docker.
  E2E_DOCKER_CONFIG=$(mktemp -d "/tmp/dm-e2e-docker-${E2E_NAME}.XXXXXX")
  export DOCKER_CONFIG="$E2E_DOCKER_CONFIG"
  # A subnet of its own per suite, so suites can run side by side.
  export LOCAL_SUBNET="${LOCAL_SUBNET:-10.213.$(( $(printf "%s" "$E2E_NAME" | cksum | cut -d" " -f1) % 200 + 20 )).0/24}"
  export LOCAL_BRIDGE="${LOCAL_BRIDGE:-dmt$(printf '%s' "$E2E_NAME" | cksum | cut -c1-6)}"
  trap e2e_cleanup EXIT
  log "store $E2E_STORE, subnet $LOCAL_SUBNET, bridge $LOCAL_BRIDGE"
}

# e2e_on_exit 'COMMANDS': runs COMMANDS at exit, before the machines are removed.
E2E_ON_EXIT=""
e2e_on_exit() { E2E_ON_EXIT=$1; }

e2e_cleanup() {
  local code=$?
  # A failed check fails the suite, whatever the last command returned.
  [ "$code" -eq 0 ] && [ "$E2E_FAILED" -gt 0 ] && code=1
  [ -n "$E2E_ON_EXIT" ] && eval "$E2E_ON_EXIT"
  if [ -n "${E2E_STORE:-}" ] && [ -d "$E2E_STORE/machines" ]; then
    local names
    names=$(ls "$E2E_STORE/machines" 2>/dev/null)
    if [ -n "$names" ]; then
      # shellcheck disable=SC2086
      timeout 300 "$DMACHINE" rm -f -y $names >/dev/null 2>&1 || true
    fi
  fi
  [ -n "${E2E_STORE:-}" ] && rm -rf "$E2E_STORE"
  [ -n "${E2E_DOCKER_CONFIG:-}" ] && rm -rf "$E2E_DOCKER_CONFIG"
  exit "$code"
}

pass() {
  E2E_PASSED=$((E2E_PASSED + 1))
  echo "ok - $*"
}

failed() {
  E2E_FAILED=$((E2E_FAILED + 1))
  echo "FAIL - $*"
}

# check_eq DESCRIPTION EXPECTED ACTUAL
check_eq() {
  if [ "$2" = "$3" ]; then
    pass "$1"
  else
    failed "$1"
    printf '  expected: %q\n  actual:   %q\n' "$2" "$3"
  fi
}

# check_contains DESCRIPTION NEEDLE HAYSTACK
check_contains() {
  case "$3" in
  *"$2"*) pass "$1" ;;
  *)
    failed "$1"
    printf '  expected to contain: %q\n  actual: %q\n' "$2" "$3"
    ;;
  esac
}

# check_exit DESCRIPTION EXPECTED_CODE CMD... (runs CMD, compares its exit status)
check_exit() {
  local description=$1 expected=$2
  shift 2
  local started=$SECONDS
  "$@" >/tmp/dm-e2e-last.out 2>&1
  local code=$?
  local took=$((SECONDS - started))
  [ "$took" -ge 5 ] && description="$description [${took}s]"
  if [ "$code" = "$expected" ]; then
    pass "$description"
  else
    failed "$description (exit $code, expected $expected)"
    sed 's/^/  | /' /tmp/dm-e2e-last.out | tail -20
  fi
}

dm() { "$DMACHINE" "$@"; }

# Ends the suite: the closing line CI reads, and the exit status.
e2e_finish() {
  echo "$E2E_NAME: $E2E_PASSED passed, $E2E_FAILED failed"
  [ "$E2E_FAILED" -eq 0 ]
}
