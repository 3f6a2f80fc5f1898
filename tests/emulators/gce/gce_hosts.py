"""Instances as real hosts: machines of dmachine's `local` driver in the
emulator's private store, with the `ssh-keys` metadata installed as Google's
guest agent does. FakeHosts stands in when no real host is wanted.
"""

import datetime
import os
import ipaddress
import json
import re
import shlex
import subprocess
import threading
import time

KEY_TYPES = ("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
             "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com",
             "sk-ecdsa-sha2-nistp256@openssh.com")
_USER = re.compile(r"[a-z_][a-z0-9_.-]{0,31}")
_KEY = re.compile(r"(\S+) ([A-Za-z0-9+/]+={0,3})(?: ([^\r\n]*))?")


class HostError(Exception):
    pass


def parse_ssh_keys(value, now=None):
    """[(user, "type base64 comment")] from an `ssh-keys` metadata value, as the
    guest agent reads it: one `user:key` per line; bad lines and google-ssh keys
    whose expireOn has passed are skipped."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    out = []
    for line in value.split("\n"):
        line = line.strip()
        if ":" not in line:
            continue
        user, key = line.split(":", 1)
        m = _KEY.fullmatch(key.strip())
        if not _USER.fullmatch(user) or not m or m.group(1) not in KEY_TYPES:
            continue
        comment = m.group(3) or ""
        if comment.startswith("google-ssh "):
            try:
                expire = json.loads(comment[len("google-ssh "):]).get("expireOn")
                when = datetime.datetime.fromisoformat(expire.replace("Z", "+00:00"))
                if when.tzinfo is None:
                    when = when.replace(tzinfo=datetime.timezone.utc)
                if when <= now:
                    continue
            except (ValueError, AttributeError, TypeError):
                continue
        out.append((user, key.strip()))
    return out


def guest_agent_script(entries):
    """Shell script (run as root on the host) that makes each user with
    passwordless sudo through the google-sudoers group and writes its keys."""
    users = {}
    for user, key in entries:
        users.setdefault(user, []).append(key)
    lines = ["set -e",
             "getent group google-sudoers >/dev/null || groupadd google-sudoers",
             "umask 077",
             "printf '%s\\n' '%google-sudoers ALL=(ALL:ALL) NOPASSWD:ALL' "
             "> /etc/sudoers.d/google_sudoers",
             "chmod 0440 /etc/sudoers.d/google_sudoers"]
    for user, keys in sorted(users.items()):
        u = shlex.quote(user)
        lines += [
            "id -u %s >/dev/null 2>&1 || useradd -m -s /bin/bash %s" % (u, u),
            "usermod -aG google-sudoers %s" % u,
            "home=$(getent passwd %s | cut -d: -f6)" % u,
            "grp=$(id -gn %s)" % u,
            'install -d -m 700 -o %s -g "$grp" "$home/.ssh"' % u,
            "printf '%%s\\n' %s > \"$home/.ssh/authorized_keys\"" %
            " ".join(shlex.quote(k) for k in keys),
            'chown %s:"$grp" "$home/.ssh/authorized_keys"' % u,
            'chmod 600 "$home/.ssh/authorized_keys"']
    return "\n".join(lines) + "\n"


class LocalHosts:
    """Runs `dmachine -s STORE ...`. Thread-safe; every call is bounded in time."""

    def __init__(self, dmachine, store, subnet, bridge, image, cache_dir, log, parallel=8):
        self.dmachine = dmachine
        self.store = store
        self.subnet = subnet
        self.bridge = bridge
        self.image = image
        self.cache_dir = cache_dir
        self.log = log
        self.slots = threading.Semaphore(parallel)

    def _run(self, args, timeout, stdin=None):
        cmd = [self.dmachine, "-s", self.store] + args
        env = None
        if self.cache_dir:
            env = dict(os.environ, LOCAL_CACHE_DIR=self.cache_dir)
        started = time.monotonic()
        try:
            proc = subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout,
                                  env=env)
        except subprocess.TimeoutExpired:
            raise HostError("dmachine %s timed out after %ds" % (args[0], timeout))
        out = proc.stdout.decode("utf-8", "replace")
        err = proc.stderr.decode("utf-8", "replace")
        self.log("host: dmachine %s -> %d in %.1fs" % (" ".join(args[:2]), proc.returncode,
                                                        time.monotonic() - started))
        if proc.returncode != 0:
            raise HostError("dmachine %s failed (%d): %s" % (args[0], proc.returncode,
                                                           (err or out).strip()[-2000:]))
        return out

    def create(self, name):
        with self.slots:
            self._run(["create", "-d", "local", "--no-provision",
                       "--local-subnet", self.subnet, "--local-bridge", self.bridge,
                       "--local-image", self.image, name], timeout=900)
        return self.ip(name)

    def ip(self, name):
        text = self._run(["ip", name], timeout=60).strip()
        ipaddress.IPv4Address(text)   # raises on anything else
        return text

    def guest_agent(self, name, entries):
        if not entries:
            return
        self._run(["ssh", name, "--", "sh", "-s"], timeout=120,
                  stdin=guest_agent_script(entries).encode())

    def stop_sshd(self, name):
        """Test fault: the host boots but nothing answers on port 22 (masked, so a
        later start of the host does not bring it back)."""
        # Later, from a transient unit: stopping sshd now would cut this session.
        # The script goes on stdin: `dmachine ssh` joins its arguments unquoted.
        self._run(["ssh", name, "--", "sh", "-s"], timeout=120, stdin=(
            b"systemd-run --quiet --on-active=2 --timer-property=AccuracySec=100ms "
            b"--unit=gceemu-no-ssh sh -c "
            b"'systemctl mask --now ssh.service ssh.socket; pkill -x sshd; true'\n"))
        time.sleep(4)

    def stop(self, name):
        self._run(["stop", name], timeout=300)

    def start(self, name):
        self._run(["start", name], timeout=300)
        return self.ip(name)

    def reset(self, name):
        self._run(["restart", name], timeout=300)
        return self.ip(name)

    def remove(self, name):
        self._run(["rm", "-f", "-y", name], timeout=300)

    def nat_ip(self, ip):
        return ip   # the machine's own address is its public one

    def existing(self):
        return [n for n in self._run(["ls", "-q"], timeout=120).split() if n]


class FakeHosts:
    """No host at all: addresses from documentation ranges, a short delay."""

    def __init__(self, delay=0.2):
        self.delay = delay
        self.lock = threading.Lock()
        self.machines = {}
        self.next = 2

    def create(self, name):
        time.sleep(self.delay)
        with self.lock:
            self.machines[name] = "10.128.0.%d" % self.next
            self.next = self.next % 250 + 1
            return self.machines[name]

    def ip(self, name):
        with self.lock:
            return self.machines[name]

    def guest_agent(self, name, entries):
        time.sleep(self.delay / 2)

    def stop_sshd(self, name):
        pass

    def stop(self, name):
        time.sleep(self.delay)

    def start(self, name):
        time.sleep(self.delay)
        return self.ip(name)

    def reset(self, name):
        return self.start(name)

    def remove(self, name):
        time.sleep(self.delay / 2)
        with self.lock:
            self.machines.pop(name, None)

    def nat_ip(self, ip):
        return "203.0.113." + ip.rsplit(".", 1)[1]

    def existing(self):
        with self.lock:
            return list(self.machines)
