#!/usr/bin/env bash
# The one rule about arrows (DESIGN.md): cmd -> app -> drivers, ssh, core;
# drivers -> core; ssh -> core. Every #include "dir/..." of the project is checked
# against what its directory may include; a wrong arrow is printed and fails.
set -euo pipefail
cd "${DM_SOURCE_DIR:-$(dirname "$0")/..}"

declare -A allowed=(
  [core]="core"
  [ssh]="ssh core"
  [drivers]="drivers core"
  [app]="app drivers ssh core"
  [cmd]="cmd app core drivers"
)
# cmd may include drivers/registry.h only: the table of drivers describes each
# driver's flags as data, which create's flag parser reads.
bad=0
checked=0
for layer in "${!allowed[@]}"; do
  while IFS= read -r line; do
    file=${line%%:*}
    target=$(sed -E 's/.*#include "([^"]+)".*/\1/' <<<"${line#*:}")
    dir=${target%%/*}
    checked=$((checked + 1))
    if [[ " ${allowed[$layer]} " != *" $dir "* ]]; then
      echo "wrong arrow: $file includes $target ($layer/ may include: ${allowed[$layer]})"
      bad=$((bad + 1))
    elif [[ $layer == cmd && $dir == drivers && $target != drivers/registry.h ]]; then
      echo "wrong arrow: $file includes $target (cmd/ reaches drivers through app/)"
      bad=$((bad + 1))
    fi
  done < <(grep -rHn '^#include "' "$layer" --include='*.cpp' --include='*.h' | grep -E '#include "(core|ssh|drivers|app|cmd)/' | sed -E 's/^([^:]+):[0-9]+:/\1:/')
done
echo "$checked includes checked, $bad wrong arrows"
[[ $bad -eq 0 ]]
