#!/usr/bin/env bash
# e2e: the Debian package. CPack builds the .deb (Depends from dpkg-shlibdeps over
# the libraries dmachine links); lintian finds no error in it; it installs in a
# fresh local machine with `apt-get install ./dmachine.deb` (the Depends it lacks
# from the Debian mirror, through the local driver's NAT), `dmachine version` and
# `man -w dmachine` work there, and a purge leaves none of its files.
source "$(dirname "$0")/lib.sh"
e2e_init
build_dir=$(dirname "$DMACHINE")
[ -f "$build_dir/CMakeCache.txt" ] || skip "no CMake build directory next to $DMACHINE"
command -v cpack >/dev/null || skip "cpack is missing (apt-get install cmake)"
command -v dpkg-shlibdeps >/dev/null || skip "dpkg-shlibdeps is missing (apt-get install dpkg-dev)"
command -v lintian >/dev/null || skip "lintian is missing (apt-get install lintian)"
work=$(mktemp -d /tmp/dm-e2e-deb.XXXXXX)
e2e_on_exit 'rm -rf "$work"'

check_exit "cmake --build --target package" 0 cmake --build "$build_dir" --target package
deb=$(ls -t "$build_dir"/dmachine_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || { failed "no .deb in $build_dir"; e2e_finish; exit 1; }
log "package $deb"
depends=$(dpkg-deb -f "$deb" Depends)
log "Depends: $depends"
# Every shared library the binary needs comes from a package named in Depends.
for so in $(objdump -p "$DMACHINE" | awk '/NEEDED/ {print $2}'); do
  pkg=$(dpkg -S "*/$so" 2>/dev/null | head -1 | cut -d: -f1)
  check_contains "Depends names $pkg (for $so)" "$pkg" "$depends"
done
check_eq "Section" admin "$(dpkg-deb -f "$deb" Section)"
check_contains "Maintainer" "@" "$(dpkg-deb -f "$deb" Maintainer)"
contents=$(dpkg-deb -c "$deb")
for f in ./usr/bin/dmachine ./usr/share/man/man1/dmachine.1.gz ./usr/share/man/man1/dmachine-create.1.gz \
  ./usr/share/bash-completion/completions/dmachine ./usr/share/zsh/vendor-completions/_dmachine \
  ./usr/share/fish/vendor_completions.d/dmachine.fish; do
  check_contains "package holds $f" "$f" "$contents"
done
lintian_out=$(lintian --tag-display-limit 0 "$deb" 2>&1)
printf '%s\n' "$lintian_out" | sed 's/^/  lintian: /'
check_eq "lintian: no errors" "" "$(grep '^E:' <<<"$lintian_out")"

check_exit "create pkg (local, no engine)" 0 dm create -d local --no-provision pkg
# What the fresh machine lacks of Depends comes the way a user's apt gets it: from
# the Debian mirror (the local driver's NAT reaches it); dmachine itself only from
# the .deb. man-db too, for `man -w`.
names=$(sed 's/([^)]*)//g; s/|[^,]*//g; s/,/ /g' <<<"$depends")
log "Depends the machine lacks: $(dm ssh pkg -- "for p in $names; do dpkg-query -W -f='\${Status}' \$p 2>/dev/null | grep -q 'ok installed' || echo \$p; done" | tr '\n' ' ')"
check_exit "scp the .deb to the machine" 0 dm scp "$deb" pkg:/tmp/dmachine.deb
check_exit "apt-get install ./dmachine.deb in the machine" 0 dm ssh pkg -- \
  "DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q --no-install-recommends /tmp/dmachine.deb man-db"
check_eq "dmachine version in the machine" "dmachine version $(dpkg-deb -f "$deb" Version)" \
  "$(dm ssh pkg -- dmachine version 2>&1)"
check_eq "man -w dmachine in the machine" "/usr/share/man/man1/dmachine.1.gz" \
  "$(dm ssh pkg -- man -w dmachine 2>&1)"
check_exit "apt-get purge dmachine" 0 dm ssh pkg -- "DEBIAN_FRONTEND=noninteractive apt-get purge -y -q dmachine"
check_eq "nothing of the package left" "" \
  "$(dm ssh pkg -- 'ls /usr/bin/dmachine /usr/share/man/man1/dmachine* /usr/share/bash-completion/completions/dmachine /usr/share/doc/dmachine /var/lib/dpkg/info/dmachine.list 2>/dev/null')"
check_exit "rm -y pkg" 0 dm rm -y pkg
e2e_finish
