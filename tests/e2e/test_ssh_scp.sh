#!/usr/bin/env bash
# e2e: dmachine ssh, scp and mount against a real local machine: stdin streamed
# with bounded memory, ssh options handed to OpenSSH (docker-machine's way),
# a store path with spaces and metacharacters, scp refusing names a hostile
# remote scp sends, scp errors in the remote's own words, and sshfs mounts.
source "$(dirname "$0")/lib.sh"
e2e_init

work=$(mktemp -d /tmp/dm-e2e-ssh-work.XXXXXX)
odd_store="$work/st ore 'q;%x"
forward_pid=""
e2e_on_exit '
  [ -n "$forward_pid" ] && kill "$forward_pid" 2>/dev/null
  mountpoint -q "$work/mnt" 2>/dev/null && fusermount3 -u "$work/mnt"
  if [ -d "$odd_store/machines" ]; then "$DMACHINE" -s "$odd_store" rm -f -y g1 >/dev/null 2>&1; fi
  rm -rf "$work"'

log "creating m1 (no engine)"
check_exit "create m1" 0 dm create -d local --no-provision m1
ip1=$(dm ip m1)

log "A10: stdin is streamed, not read into memory first"
out=$( { head -c 200M /dev/zero | /usr/bin/time -v "$DMACHINE" ssh m1 -- wc -c; } 2>"$work/time")
check_eq "200 MB piped through ssh arrive whole" "209715200" "$out"
rss_kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time")
log "max RSS of dmachine ssh with 200 MB on stdin: ${rss_kb} kB"
if [ -n "$rss_kb" ] && [ "$rss_kb" -lt 40960 ]; then
  pass "ssh with 200 MB on stdin stays under 40 MB RSS (${rss_kb} kB)"
else
  failed "ssh with 200 MB on stdin stays under 40 MB RSS (${rss_kb:-?} kB)"
fi
started=$SECONDS
out=$(timeout 20 bash -c "yes | '$DMACHINE' ssh m1 -- head -n 3")
check_eq "yes | ssh -- head -n 3 returns three lines" $'y\ny\ny' "$out"
check_eq "and returns promptly" "1" "$([ $((SECONDS - started)) -lt 10 ] && echo 1 || echo 0)"
check_eq "a command that reads no stdin still ends" "done" \
  "$(timeout 20 bash -c "yes | '$DMACHINE' ssh m1 -- echo done")"

log "B4: options after the name go to the OpenSSH client"
check_eq "ssh m1 -o LogLevel=ERROR -C echo foo" "foo" "$(dm ssh m1 -o LogLevel=ERROR -C echo foo)"
check_exit "the OpenSSH client passes the remote exit status" 3 dm ssh m1 -C 'exit 3'
check_contains "ssh m1 -tt tty gets a terminal" "/dev/pts/" "$(dm ssh m1 -tt tty </dev/null 2>&1)"
check_eq "ssh m1 -- -C stays a remote command (native session)" "-C" \
  "$(dm ssh m1 -- echo -C 2>&1)"
# The remote shell gets "-C echo foo" as its command line and rejects the option.
check_contains "with --native-ssh, options after the name are the remote command" \
  "invalid option" "$(dm --native-ssh ssh m1 -C echo foo 2>&1)"
port=$(( (RANDOM % 20000) + 30000 ))
for _ in 1 2 3 4 5 6 7 8 9 10; do
  ss -ltn "sport = :$port" | grep -q LISTEN || break
  port=$(( (RANDOM % 20000) + 30000 ))
done
dm ssh m1 -L "$port:localhost:22" -N >/dev/null 2>&1 &
forward_pid=$!
banner=""
for _ in $(seq 1 50); do
  banner=$(timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port && head -c 7 <&3" 2>/dev/null) && [ -n "$banner" ] && break
  sleep 0.2
done
check_eq "ssh m1 -L PORT:localhost:22 -N forwards (sshd's banner through it)" "SSH-2.0" "$banner"
kill "$forward_pid" 2>/dev/null
wait "$forward_pid" 2>/dev/null
forward_pid=""

log "A14: a store path with spaces and shell metacharacters"
mkdir -p "$odd_store"
check_exit "generic machine in a store named like \"$odd_store\"" 0 \
  dm -s "$odd_store" create -d generic --no-provision --generic-ip-address "$ip1" \
  --generic-ssh-user root --generic-ssh-key "$E2E_STORE/machines/m1/id_rsa" g1
check_eq "native ssh in that store" "native" "$(dm -s "$odd_store" ssh g1 -- echo native)"
check_eq "OpenSSH (options given) in that store" "openssh" \
  "$(dm -s "$odd_store" ssh g1 -o LogLevel=ERROR echo openssh 2>&1)"
check_eq "interactive ssh (no command) in that store" "via-shell" \
  "$(echo 'echo via-shell' | dm -s "$odd_store" ssh g1 2>/dev/null | tail -n 1)"

log "A8: scp -r refuses names a hostile remote scp sends"
cat >"$work/fake-scp" <<'EOF'
#!/bin/sh
# A hostile remote scp: answers downloads with names that leave the target.
for last; do :; done
ack() { dd bs=1 count=1 >/dev/null 2>&1; }
ack
case "$last" in
*tree-dotdot) printf 'D0755 0 tree\n'; ack; printf 'C0644 5 ../evil\n' ;;
*tree-abs) printf 'D0755 0 tree\n'; ack; printf 'C0644 5 /tmp/dm-e2e-evil-abs\n' ;;
*tree-dir) printf 'D0755 0 tree\n'; ack; printf 'D0755 0 ..\n' ;;
*file-dotdot) printf 'C0644 5 ../evil\n' ;;
esac
ack
printf 'evil\n'
printf '\0'
sleep 1
EOF
dm scp "$work/fake-scp" m1:/usr/local/bin/scp >/dev/null 2>&1
dm ssh m1 -- chmod 755 /usr/local/bin/scp
mkdir -p "$work/in"
for case in tree-dotdot tree-abs tree-dir file-dotdot; do
  flag=-r
  [ "$case" = file-dotdot ] && flag=
  # shellcheck disable=SC2086
  out=$(dm scp $flag "m1:/srv/$case" "$work/in/target" 2>&1)
  code=$?
  check_eq "scp $flag from a hostile remote ($case) fails" "1" "$code"
  check_contains "and names the unsafe file name ($case)" "unsafe file name" "$out"
  check_eq "and writes nothing outside the target ($case)" "" \
    "$(ls "$work/in/evil" "$work/evil" /tmp/dm-e2e-evil-abs "$work/in/target/../evil" 2>/dev/null)"
  rm -rf "$work/in/target"
done
dm ssh m1 -- rm -f /usr/local/bin/scp

log "scp: copies and the remote's own error messages"
printf 'hello\n' >"$work/file one"
mkdir -p "$work/tree/sub" && printf 'a' >"$work/tree/a" && printf 'b' >"$work/tree/sub/b"
check_exit "scp a file with a space in its name" 0 dm scp "$work/file one" m1:/tmp/
check_eq "it landed inside the directory" "hello" "$(dm ssh m1 -- cat "'/tmp/file one'")"
check_exit "scp -r a tree into a new name" 0 dm scp -r "$work/tree" m1:/tmp/tree-copy
check_exit "scp -r a tree into an existing directory" 0 dm scp -r "$work/tree" m1:/tmp/
check_eq "both trees are whole" "b b" \
  "$(dm ssh m1 -- cat /tmp/tree-copy/sub/b; echo -n ' '; dm ssh m1 -- cat /tmp/tree/sub/b)"
check_exit "scp -r back" 0 dm scp -r m1:/tmp/tree "$work/back"
check_eq "the tree came back" "a b" "$(cat "$work/back/a") $(cat "$work/back/sub/b")"
check_exit "scp a file back" 0 dm scp "m1:/tmp/file one" "$work/one-back"
check_eq "its content came back" "hello" "$(cat "$work/one-back")"
out=$(dm scp m1:/tmp/nosuch "$work/x" 2>&1)
check_contains "a missing remote file says so" "No such file or directory" "$out"
out=$(dm scp m1:/tmp/tree "$work/x" 2>&1)
check_contains "a remote directory without -r says so" "not a regular file" "$out"
out=$(dm scp "$work/file one" m1:/nonexistent/dir/x 2>&1)
check_contains "a missing remote directory says so" "No such file or directory" "$out"

log "B7: mount a machine directory with sshfs"
dm ssh m1 -- 'mkdir -p /srv/share && echo from-machine > /srv/share/a'
mkdir -p "$work/mnt"
check_exit "mount m1:/srv/share" 0 dm mount m1:/srv/share "$work/mnt"
check_eq "the mount point is mounted" "0" "$(mountpoint -q "$work/mnt" && echo 0 || echo 1)"
check_eq "a file made on the machine reads through the mount" "from-machine" "$(cat "$work/mnt/a" 2>&1)"
echo from-here >"$work/mnt/b"
check_eq "a file written here appears on the machine" "from-here" "$(dm ssh m1 -- cat /srv/share/b)"
check_exit "mount -u" 0 dm mount -u m1:/srv/share "$work/mnt"
check_eq "the mount is gone" "1" "$(mountpoint -q "$work/mnt" && echo 0 || echo 1)"
check_exit "mount from the odd store (quoted known_hosts and key for sshfs)" 0 \
  dm -s "$odd_store" mount g1:/srv/share "$work/mnt"
check_eq "it is a mount point" "0" "$(mountpoint -q "$work/mnt" && echo 0 || echo 1)"
check_eq "reads through it" "from-here" "$(cat "$work/mnt/b" 2>&1)"
check_exit "and unmounts" 0 dm -s "$odd_store" mount -u g1:/srv/share "$work/mnt"

check_exit "rm g1" 0 dm -s "$odd_store" rm -y g1
e2e_finish
