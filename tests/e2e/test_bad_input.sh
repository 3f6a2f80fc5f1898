#!/usr/bin/env bash
# e2e: bad input. Every case runs the real binary with one bad input and asserts
# the exit code, the message, and that the store is byte-for-byte unchanged.
# Cases live in tests/e2e/bad_input/*.sh, one file per area; each calls `bad`.
# Machines shared by the cases: "run1" (running, no engine), "stop1" (stopped).
source "$(dirname "$0")/lib.sh"
e2e_init

# A fingerprint of the whole store: every path, its mode, and every file's bytes.
# Left out: the image cache, lock files (kept on purpose), and a local machine's
# own disk and runtime files (its journal changes whenever anything logs in).
store_fingerprint() {
  local skip=(\( -path ./cache -o -path ./.locks -o -path './machines/*/local' \) -prune -o)
  (cd "$E2E_STORE" && find . "${skip[@]}" -printf '%p %m %s\n' | LC_ALL=C sort &&
    find . "${skip[@]}" -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum) |
    sha256sum | cut -d' ' -f1
}

# bad DESCRIPTION EXPECTED_EXIT EXPECTED_MESSAGE_PART CMD... : the command fails
# with that exit code, says that message (stdout or stderr), and the store is
# unchanged. An empty EXPECTED_MESSAGE_PART checks only that something was said.
BAD_CASES=0
bad() {
  local description=$1 expected_code=$2 message=$3
  shift 3
  BAD_CASES=$((BAD_CASES + 1))
  local before after out code
  # `timeout` runs programs, not shell functions: the dm helper becomes the binary.
  if [ "$1" = dm ]; then
    shift
    set -- "$DMACHINE" "$@"
  fi
  before=$(store_fingerprint)
  out=$(timeout 120 "$@" </dev/null 2>&1)
  code=$?
  after=$(store_fingerprint)
  local ok=1
  [ "$code" = "$expected_code" ] || ok=0
  if [ -n "$message" ]; then
    case "$out" in *"$message"*) ;; *) ok=0 ;; esac
  else
    [ -n "$out" ] || ok=0
  fi
  [ "$before" = "$after" ] || ok=0
  if [ "$ok" = 1 ]; then
    pass "bad input: $description"
  else
    failed "bad input: $description"
    printf '  exit %s (expected %s); store %s\n' "$code" "$expected_code" \
      "$([ "$before" = "$after" ] && echo unchanged || echo CHANGED)"
    printf '  expected message part: %q\n' "$message"
    printf '%s\n' "$out" | head -8 | sed 's/^/  | /'
  fi
}

log "making the shared machines run1 (running) and stop1 (stopped)"
check_exit "create run1" 0 dm create -d local --no-provision run1
check_exit "create stop1" 0 dm create -d local --no-provision stop1
check_exit "stop stop1" 0 dm stop stop1

for cases in "$(dirname "$0")"/bad_input/*.sh; do
  log "cases from $(basename "$cases")"
  # shellcheck source=/dev/null
  source "$cases"
done

log "$BAD_CASES bad-input cases"
e2e_finish
