#!/usr/bin/env bash
# e2e: the man pages generated from the help texts. `dmachine __man DIR` writes
# dmachine(1) and one page per command; `man` renders them; the create page holds
# every flag `dmachine create --help` prints (one source, no drift); and after
# `cmake --install` into a temporary prefix `man dmachine` finds the page there,
# next to the completion files.
source "$(dirname "$0")/lib.sh"
command -v man >/dev/null || skip "man is missing (apt-get install man-db)"
work=$(mktemp -d /tmp/dm-e2e-man.XXXXXX)
trap 'rm -rf "$work"' EXIT
export LC_ALL=C MANWIDTH=200 MAN_DISABLE_SECCOMP=1

check_exit "__man DIR writes the pages" 0 dm __man "$work"
for cmd in create ls ssh env rm use completion cluster cluster-create; do
  check_eq "page dmachine-$cmd.1 exists" yes "$([ -s "$work/dmachine-$cmd.1" ] && echo yes || echo no)"
done
rendered=$(man -P cat -l "$work/dmachine.1" 2>&1)
check_contains "man renders dmachine(1)" "dmachine - create and manage machines running Docker" "$rendered"
check_contains "dmachine(1) lists the commands" "dmachine-regenerate-certs(1)" "$rendered"
create_page=$(man -P cat -l "$work/dmachine-create.1" 2>&1)
missing=""
for flag in $(dm create --help | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u); do
  grep -qF -- "$flag" <<<"$create_page" || missing="$missing $flag"
done
check_eq "the create page has every flag create --help prints" "" "$missing"
for driver in $(dm create --help | sed -n '/^Drivers:/,/^$/p' | awk 'NR>1 && NF {print $1}'); do
  check_contains "the create page has the flags of the $driver driver" \
    "$(dm create --driver "$driver" --help | grep -oE -- "--[a-z][a-z0-9-]*" | tail -1)" "$create_page"
done
check_eq "man -l reports no warnings" "" "$(man -l --warnings -E UTF-8 "$work/dmachine-create.1" 2>&1 >/dev/null)"

build_dir=$(dirname "$DMACHINE")
if [ -f "$build_dir/CMakeCache.txt" ]; then
  check_exit "build the docs target" 0 cmake --build "$build_dir" --target docs
  check_exit "cmake --install into a temporary prefix" 0 cmake --install "$build_dir" --prefix "$work/prefix"
  check_eq "man dmachine after install" "$work/prefix/share/man/man1/dmachine.1.gz" \
    "$(MANPATH="$work/prefix/share/man" man -w dmachine 2>&1)"
  check_contains "man dmachine-create renders after install" "--driver" \
    "$(MANPATH="$work/prefix/share/man" man -P cat dmachine-create 2>&1)"
  for f in bin/dmachine share/bash-completion/completions/dmachine \
    share/zsh/vendor-completions/_dmachine share/fish/vendor_completions.d/dmachine.fish \
    share/doc/dmachine/copyright share/doc/dmachine/changelog.gz; do
    check_eq "installed $f" yes "$([ -s "$work/prefix/$f" ] && echo yes || echo no)"
  done
else
  log "no CMake build directory next to $DMACHINE: cmake --install not checked"
fi
e2e_finish
