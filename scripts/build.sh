#!/usr/bin/env bash
# Builds dmachine into build/ (and, with --sanitize, the unit tests into build-asan/).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
# ccache, when installed, makes rebuilds (and builds in other checkouts) cheap.
launcher=()
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  # Paths relative to the checkout, so another clone of the same code hits the cache.
  export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
  export CCACHE_DIR="${CCACHE_DIR:-/var/cache/ccache}"
  export CCACHE_NOHASHDIR=1
fi
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" >/dev/null
ninja -C build -j"$jobs" dmachine unit_tests
if [ "${1:-}" = "--sanitize" ]; then
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DDMACHINE_SANITIZE=ON "${launcher[@]}" >/dev/null
  ninja -C build-asan -j"$jobs" unit_tests
fi
