#!/usr/bin/python3
"""Real hosts behind the emulator's instances: each instance is a machine of
dmachine's `local` driver in the emulator's own private store. Every call is
bounded in time; output is kept for the emulator's log."""

import os
import shlex
import subprocess
import threading

_SUDOERS = "admin ALL=(ALL) NOPASSWD:ALL\n"


class HostError(Exception):
    pass


class LocalHosts:
    """Runs `dmachine -s STORE ...` for the instances. Thread-safe; at most
    `parallel` creates run at once."""

    def __init__(self, dmachine, store, subnet, bridge, image, log, parallel=8,
                 cache_dir=None):
        self.dmachine = dmachine
        self.store = store
        self.subnet = subnet
        self.bridge = bridge
        self.image = image
        self.cache_dir = cache_dir
        self.log = log
        self._slots = threading.Semaphore(parallel)

    def _run(self, args, timeout, stdin=None):
        cmd = [self.dmachine, "-s", self.store] + args
        env = dict(os.environ)
        if self.cache_dir:
            env["LOCAL_CACHE_DIR"] = self.cache_dir
        try:
            proc = subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout,
                                  env=env, check=False)
        except subprocess.TimeoutExpired:
            self.log("host: %s timed out after %d s" % (" ".join(args[:2]), timeout))
            raise HostError("%s timed out after %d s" % (" ".join(args[:2]), timeout))
        out = (proc.stdout + proc.stderr).decode("utf-8", "replace")
        self.log("host: dmachine %s -> %d\n%s" % (" ".join(args[:3]), proc.returncode,
                                                  out.strip()[-2000:]))
        if proc.returncode != 0:
            raise HostError("dmachine %s failed (%d): %s" % (args[0], proc.returncode,
                                                             out.strip()[-500:]))
        return proc.stdout.decode("utf-8", "replace").strip()

    def create(self, name):
        """Makes the machine (no engine configured) and returns its IP."""
        with self._slots:
            self._run(["create", "-d", "local", "--no-provision",
                       "--local-subnet", self.subnet, "--local-bridge", self.bridge,
                       "--local-image", self.image, name], timeout=900)
        return self.ip(name)

    def ip(self, name):
        return self._run(["ip", name], timeout=60)

    def cloud_init(self, name, user, public_key_line, user_data):
        """What cloud-init does on first boot of a Debian cloud image: the image's
        default user with passwordless sudo and the key pair's public key; a
        user-data script (#!...) is run once, detached, as root."""
        script = ["set -e",
                  "id -u %s >/dev/null 2>&1 || useradd -m -s /bin/bash -G sudo %s"
                  % (shlex.quote(user), shlex.quote(user)),
                  "printf '%%s' %s > /etc/sudoers.d/90-cloud-init-users"
                  % shlex.quote(_SUDOERS.replace("admin", user)),
                  "chmod 0440 /etc/sudoers.d/90-cloud-init-users",
                  "home=$(getent passwd %s | cut -d: -f6)" % shlex.quote(user),
                  'install -d -m 0700 -o %s -g %s "$home/.ssh"'
                  % (shlex.quote(user), shlex.quote(user))]
        if public_key_line:
            script += ["printf '%%s\\n' %s > \"$home/.ssh/authorized_keys\""
                       % shlex.quote(public_key_line),
                       'chown %s:%s "$home/.ssh/authorized_keys"'
                       % (shlex.quote(user), shlex.quote(user)),
                       'chmod 0600 "$home/.ssh/authorized_keys"']
        if user_data is not None:
            script += ["install -d -m 0700 /var/lib/cloud/instance",
                       "printf '%%s' %s | base64 -d > /var/lib/cloud/instance/user-data.txt"
                       % shlex.quote(user_data)]
            script += ["if head -c2 /var/lib/cloud/instance/user-data.txt | grep -q '^#!'; then "
                       "chmod 0700 /var/lib/cloud/instance/user-data.txt; "
                       "setsid /var/lib/cloud/instance/user-data.txt "
                       "</dev/null >/var/log/cloud-init-output.log 2>&1 & fi"]
        self._run(["ssh", name, "--", "sh", "-s"], timeout=120,
                  stdin=("\n".join(script) + "\n").encode("utf-8"))

    def add_address(self, name, address, prefixlen):
        """The instance's public address: one more address on the host's eth0 (the
        bridge's /24), and this computer forgets any old neighbour entry for it."""
        self._run(["ssh", name, "--", "ip", "addr", "add", "%s/%d" % (address, prefixlen),
                   "dev", "eth0"], timeout=60)
        subprocess.run(["ip", "neigh", "flush", "to", address, "dev", self.bridge],
                       capture_output=True, timeout=30, check=False)

    def stop_sshd(self, name):
        """Test fault: sshd stops listening (a transient unit stops it, so the
        session that asks survives); `dmachine start` after a stop brings it back."""
        self._run(["ssh", name, "--", "systemd-run", "--no-block", "--quiet", "systemctl",
                   "stop", "ssh.socket", "ssh.service"], timeout=60)

    def stop(self, name, force=False):
        self._run(["kill" if force else "stop", name], timeout=300)

    def start(self, name):
        self._run(["start", name], timeout=300)
        return self.ip(name)

    def reboot(self, name):
        self._run(["restart", name], timeout=300)

    def remove(self, name):
        self._run(["rm", "-f", "-y", name], timeout=300)

    def existing(self):
        """Names of machines in the private store (for the state dump)."""
        machines = os.path.join(self.store, "machines")
        try:
            return sorted(os.listdir(machines))
        except OSError:
            return []
