#!/usr/bin/env bash
# The EC2 emulator's own tests (tests/emulators/ec2): SigV4 on AWS's suite, EC2's
# request checks, error documents and response shapes, hooks, and real instances
# (local machines) from RunInstances to Terminate. Exits 77 with the reason when
# the end-to-end part cannot run (not root, no dmachine binary).
set -uo pipefail
: "${DM_SOURCE_DIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
export LOCAL_CACHE_DIR="${LOCAL_CACHE_DIR:-/var/cache/dmachine/local}"
export DMACHINE="${DMACHINE:-$DM_SOURCE_DIR/build/dmachine}"
[ -x /usr/bin/python3 ] || { echo "SKIP test_ec2_emulator: /usr/bin/python3 is missing" >&2; exit 77; }
exec /usr/bin/python3 "$DM_SOURCE_DIR/tests/emulators/ec2/test_ec2_emulator.py" "$@"
