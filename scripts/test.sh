#!/usr/bin/env bash
# Runs every test: unit tests (also under ASan+UBSan), a short libFuzzer run of
# every parser of outside input, and the e2e suites against
# real local machines. Needs root on Debian 12; installs what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "scripts/test.sh: the e2e suites make real hosts (namespaces, mounts): run as root" >&2
  exit 1
fi
scripts/install-deps.sh
scripts/build.sh --sanitize
# The image cache is shared by every suite and kept between runs.
export LOCAL_CACHE_DIR="${LOCAL_CACHE_DIR:-/var/cache/dmachine/local}"
echo "== unit tests under AddressSanitizer and UndefinedBehaviorSanitizer"
build-asan/unit_tests
echo "== fuzzing: every parser of outside input under libFuzzer (clang, ASan+UBSan)"
FUZZ_SECONDS="${FUZZ_SECONDS:-15}" scripts/fuzz.sh
echo "== unit and e2e tests (ctest; the VM suites run beside the others)"
ctest --test-dir build --output-on-failure -j2 "$@"
