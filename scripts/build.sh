#!/usr/bin/env bash
# Builds dmachine into build/ (and, with --sanitize, the unit tests into build-asan/).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build -j"$jobs" dmachine unit_tests
if [ "${1:-}" = "--sanitize" ]; then
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DDMACHINE_SANITIZE=ON >/dev/null
  ninja -C build-asan -j"$jobs" unit_tests
fi
