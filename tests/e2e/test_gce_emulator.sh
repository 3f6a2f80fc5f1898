#!/usr/bin/env bash
# The GCE emulator's own tests (tests/emulators/gce): the OAuth token endpoint's
# RS256 checks, Compute Engine's request checks, answers and error shapes against
# tests/vectors/gce, hooks, and a real instance (a local machine) from insert to
# delete. Exits 77 with the reason when the end-to-end part cannot run (not root,
# no dmachine binary).
set -uo pipefail
: "${DM_SOURCE_DIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
export LOCAL_CACHE_DIR="${LOCAL_CACHE_DIR:-/var/cache/dmachine/local}"
export DMACHINE="${DMACHINE:-$DM_SOURCE_DIR/build/dmachine}"
[ -x /usr/bin/python3 ] || { echo "SKIP test_gce_emulator: /usr/bin/python3 is missing" >&2; exit 77; }
exec /usr/bin/python3 "$DM_SOURCE_DIR/tests/emulators/gce/test_gce_emulator.py" "$@"
