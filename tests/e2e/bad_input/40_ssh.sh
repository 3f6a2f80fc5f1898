# Bad input: ssh, scp and mount; keys given to the generic driver. Sourced by test_bad_input.sh.
ssh_bad_dir=$(mktemp -d /tmp/dm-bad-ssh.XXXXXX)
run1_ip=$(dm ip run1)

# scp: locations, missing files (either side), directories without -r, machines.
bad "scp of a missing local file" 1 "/nonexistent-dm-file: No such file or directory" \
  dm scp /nonexistent-dm-file run1:/tmp/
bad "scp of a local directory without -r" 1 "is a directory (use -r" dm scp /etc run1:/tmp/
bad "scp of a missing remote file" 1 "No such file or directory" \
  dm scp run1:/nonexistent-dm-file "$ssh_bad_dir/x"
bad "scp of a remote directory without -r" 1 "not a regular file" dm scp run1:/etc "$ssh_bad_dir/x"
bad "scp into a missing remote directory" 1 "No such file or directory" \
  dm scp /etc/hostname run1:/nonexistent-dm-dir/x
bad "scp with an invalid machine name" 1 "is not a machine name" dm scp 'bad_name:/x' /tmp/
bad "scp with one path" 1 "Expected 2 arguments" dm scp /etc/hostname
bad "scp from a missing machine" 1 'Docker machine "nosuch" does not exist' dm scp nosuch:/x /tmp/
bad "scp from a stopped machine" 1 'Host "stop1" is not running' dm scp stop1:/etc/hostname /tmp/
bad "scp -r to a missing local parent" 1 "No such file or directory" \
  dm scp -r run1:/etc/ssh "$ssh_bad_dir/no/such/dir"

# ssh: machines, and options the OpenSSH client refuses (its own words, its exit code).
bad "ssh to a missing machine" 1 'Docker machine "nosuch" does not exist' dm ssh nosuch -- true
bad "ssh to a stopped machine" 1 'Cannot run SSH command: Host "stop1" is not running' \
  dm ssh stop1 -- true
bad "ssh with an unknown option" 255 "unknown option -- Z" dm ssh run1 -Z
bad "ssh with a bad -o option" 255 "Bad configuration option" dm ssh run1 -o NoSuchOption=1 true

# mount: arguments, mount points, machines, unmounting what is not mounted.
mkdir -p "$ssh_bad_dir/mnt"
bad "mount with no arguments" 1 "Expected [[user@]NAME:]PATH" dm mount
bad "mount with three arguments" 1 "Expected [[user@]NAME:]PATH" dm mount run1:/x /tmp /tmp
bad "mount onto a missing mount point" 1 "No such file or directory" \
  dm mount run1:/srv "$ssh_bad_dir/nosuch"
bad "mount onto a file" 1 "not a directory" dm mount run1:/srv /etc/hostname
bad "mount of this computer" 1 "mount needs a machine" dm mount localhost:/srv "$ssh_bad_dir/mnt"
bad "mount from a missing machine" 1 'Docker machine "nosuch" does not exist' \
  dm mount nosuch:/srv "$ssh_bad_dir/mnt"
bad "mount from a stopped machine" 1 'Host "stop1" is not running' \
  dm mount stop1:/srv "$ssh_bad_dir/mnt"
bad "unmount of what is not mounted" 1 "" dm mount -u run1:/srv "$ssh_bad_dir/mnt"

# Keys for the generic driver: refused in the pre-create check (exit 3), at once.
ssh-keygen -q -t ed25519 -N 'secret' -f "$ssh_bad_dir/encrypted" -C dm-bad
ssh-keygen -q -t rsa -b 2048 -m PEM -N '' -f "$ssh_bad_dir/rsa" -C dm-bad
bad "a passphrase-protected --generic-ssh-key" 3 "protected by a passphrase" \
  dm create -d generic --no-provision --generic-ip-address "$run1_ip" \
  --generic-ssh-key "$ssh_bad_dir/encrypted" gkey1
bad "a --generic-ssh-key that is not a key" 3 "is not a private key" \
  dm create -d generic --no-provision --generic-ip-address "$run1_ip" \
  --generic-ssh-key /etc/hostname gkey2
bad "a public key as --generic-ssh-key" 3 "is a public key" \
  dm create -d generic --no-provision --generic-ip-address "$run1_ip" \
  --generic-ssh-key "$ssh_bad_dir/encrypted.pub" gkey3
# An RSA key the host has authorised: OpenSSH >= 8.8 refuses its SHA-1 signature.
dm ssh run1 -- 'mkdir -p /root/.ssh && cat >> /root/.ssh/authorized_keys' <"$ssh_bad_dir/rsa.pub"
bad "an authorised RSA key says why it is refused" 1 "use an ECDSA or ed25519 key" \
  dm create -d generic --no-provision --generic-ip-address "$run1_ip" \
  --generic-ssh-key "$ssh_bad_dir/rsa" gkey4
rm -rf "$ssh_bad_dir"
