"""Core of the VBoxManage emulator: the on-disk registry, VirtualBox's error
texts, QMP, QEMU launch and host-only bridges. Tests only (see README.md).
The registry lives in $VBOXEMU_HOME (default ~/.config/VirtualBox-emulator,
mode 0700) and every invocation holds an exclusive flock on it.
"""
import fcntl
import ipaddress
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid as uuidlib

k_version = "7.0.20r163906"
k_api_version = "7_0"
k_qmp_timeout = 10


class VBoxError(Exception):
    """An error VBoxManage prints on stderr; exit code 1 unless syntax (2)."""

    def __init__(self, lines, code=1):
        super().__init__("\n".join(lines))
        self.lines = lines if isinstance(lines, list) else [lines]
        self.code = code


def com_error(message, code, hexcode, component, interface, context, line, source):
    """VirtualBox's three-line COM failure: message, Details, Context."""
    return VBoxError([
        f"VBoxManage: error: {message}",
        f"VBoxManage: error: Details: code {code} ({hexcode}), component {component}, "
        f"interface {interface}, callee nsISupports",
        f'VBoxManage: error: Context: "{context}" at line {line} of file {source}',
    ])


def plain_error(message, code=1):
    return VBoxError([f"VBoxManage: error: {message}"], code)


def syntax_error(message, usage=None):
    lines = []
    if usage:
        lines += ["Usage:", "", usage, ""]
    lines.append(f"VBoxManage: error: {message}")
    return VBoxError(lines, 2)


def not_found_vm(name, context, line, source):
    return com_error(f"Could not find a registered machine named '{name}'",
                     "VBOX_E_OBJECT_NOT_FOUND", "0x80bb0001", "VirtualBoxWrap",
                     "IVirtualBox", context, line, source)


def locked_error(name, context, line, source):
    return com_error(f"The machine '{name}' is already locked for a session (or being unlocked)",
                     "VBOX_E_INVALID_OBJECT_STATE", "0x80bb0007", "MachineWrap", "IMachine",
                     context, line, source)


def invalid_state_error(state_word, context, line):
    return com_error(f"Invalid machine state: {state_word}", "VBOX_E_INVALID_VM_STATE",
                     "0x80bb0002", "ConsoleWrap", "IConsole", context, line,
                     "VBoxManageControlVM.cpp")


def progress():
    """VBoxManage's progress line (it goes to stderr)."""
    sys.stderr.write("0%...10%...20%...30%...40%...50%...60%...70%...80%...90%...100%\n")


def now_iso():
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%09dZ" % int((t % 1) * 1e9)


def new_uuid():
    return str(uuidlib.uuid4())


def random_mac():
    return "080027" + "".join(random.choice("0123456789ABCDEF") for _ in range(6))


def home_dir():
    home = os.environ.get("VBOXEMU_HOME") or os.path.join(
        os.path.expanduser("~"), ".config", "VirtualBox-emulator")
    os.makedirs(home, mode=0o700, exist_ok=True)
    os.chmod(home, 0o700)
    return home


def if_prefix():
    prefix = os.environ.get("VBOXEMU_IF_PREFIX", "vboxnet")
    if not re.fullmatch(r"[a-z][a-z0-9]{0,7}", prefix):
        raise plain_error(f"VBOXEMU_IF_PREFIX '{prefix}' must be 1-8 of [a-z0-9], starting with a letter")
    return prefix


def host_net_enabled():
    return os.environ.get("VBOXEMU_HOST_NET", "1") != "0"


def run(cmd, check=True):
    """Runs a host command; a failure becomes a VBoxManage error."""
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check and proc.returncode != 0:
        raise plain_error(f"host command failed: {' '.join(cmd)}: {proc.stderr.strip()}")
    return proc


class Registry:
    """The emulator's VirtualBox.xml: VMs, media, host-only interfaces and
    networks, DHCP servers. Loaded and saved under an exclusive lock."""

    def __init__(self):
        self.home = home_dir()
        self.path = os.path.join(self.home, "registry.json")
        self.lock_fd = os.open(os.path.join(self.home, ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self.lock_fd, fcntl.LOCK_EX)
        if os.path.exists(self.path):
            with open(self.path, encoding="utf-8") as f:
                self.data = json.load(f)
        else:
            self.data = {}
        for key in ("vms", "media", "hostonlyifs", "hostonlynets", "dhcpservers", "extradata"):
            self.data.setdefault(key, {})

    def checkpoint(self):
        """Settings commands change nothing when they fail (VirtualBox
        discards the session's settings): remember the state to go back to."""
        self.saved_copy = json.loads(json.dumps(self.data))

    def rollback(self):
        if getattr(self, "saved_copy", None) is not None:
            self.data = self.saved_copy

    def save(self):
        tmp = self.path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.data, f, indent=1, sort_keys=True)
        os.replace(tmp, self.path)

    def close(self):
        os.close(self.lock_fd)

    @property
    def vms(self):
        return self.data["vms"]

    @property
    def media(self):
        return self.data["media"]

    def machine_folder(self):
        return os.path.join(self.home, "VirtualBox VMs")

    def run_dir(self, vm):
        return os.path.join(self.home, "run", vm["uuid"])

    def find_vm(self, name_or_uuid, context="FindMachine(Bstr(VMNameOrUuid).raw(), machine.asOutParam())",
                line=2719, source="VBoxManageInfo.cpp"):
        key = name_or_uuid.strip("{}")
        if key in self.vms and self.vms[key].get("registered"):
            return self.vms[key]
        for vm in self.vms.values():
            if vm.get("registered") and vm["name"] == name_or_uuid:
                return vm
        raise not_found_vm(name_or_uuid, context, line, source)

    def find_medium(self, ref):
        key = ref.strip("{}")
        if key in self.media:
            return self.media[key]
        path = os.path.abspath(ref)
        for m in self.media.values():
            if m["location"] == path:
                return m
        return None


# ---------------------------------------------------------------- media

FORMATS = {"vdi": "VDI", "vmdk": "VMDK", "vpc": "VHD", "raw": "RAW", "qcow2": "QCOW", "qcow": "QCOW",
           "vhdx": "VHDX", "parallels": "Parallels", "qed": "QED", "dmg": "DMG"}
QEMU_FORMAT = {"VDI": "vdi", "VMDK": "vmdk", "VHD": "vpc", "RAW": "raw", "QCOW": "qcow2", "VHDX": "vhdx",
               "QED": "qed", "Parallels": "parallels"}


def qemu_img():
    return os.environ.get("VBOXEMU_QEMU_IMG", "qemu-img")


def image_info(path):
    proc = subprocess.run([qemu_img(), "info", "--output=json", "-U", path],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        return None
    try:
        return json.loads(proc.stdout)
    except ValueError:
        return None


def file_not_found(path, line=201):
    return com_error(f"Could not find file for the medium '{path}' (VERR_FILE_NOT_FOUND)",
                     "VBOX_E_FILE_ERROR", "0x80bb0004", "MediumWrap", "IMedium",
                     "OpenMedium(Bstr(pszFilenameOrUuid).raw(), enmDevType, enmAccessMode, "
                     "fForceNewUuidOnOpen, pMedium.asOutParam())", line, "VBoxManageDisk.cpp")


def open_medium(reg, ref, kind):
    """Finds or registers a medium (IVirtualBox::openMedium)."""
    m = reg.find_medium(ref)
    if m:
        if m["kind"] != kind:
            raise plain_error(f"Medium '{m['location']}' is a {m['kind']} medium, not {kind}")
        return m
    if re.fullmatch(r"\{?[0-9a-fA-F-]{36}\}?", ref):
        raise com_error(f"Could not find an open hard disk with UUID {{{ref.strip('{}')}}}",
                        "VBOX_E_OBJECT_NOT_FOUND", "0x80bb0001", "VirtualBoxWrap", "IVirtualBox",
                        "OpenMedium(Bstr(pszFilenameOrUuid).raw(), enmDevType, enmAccessMode, "
                        "fForceNewUuidOnOpen, pMedium.asOutParam())", 201, "VBoxManageDisk.cpp")
    path = os.path.abspath(ref)
    if not os.path.isfile(path):
        raise file_not_found(path)
    if kind == "dvd":
        fmt, size = "RAW", os.path.getsize(path)
    else:
        info = image_info(path)
        if not info:
            raise com_error(f"Could not get the storage format of the medium '{path}' (VERR_NOT_SUPPORTED)",
                            "VBOX_E_IPRT_ERROR", "0x80bb0005", "MediumWrap", "IMedium",
                            "OpenMedium(Bstr(pszFilenameOrUuid).raw(), enmDevType, enmAccessMode, "
                            "fForceNewUuidOnOpen, pMedium.asOutParam())", 201, "VBoxManageDisk.cpp")
        fmt = FORMATS.get(info.get("format"), "RAW")
        size = int(info.get("virtual-size", 0))
    m = {"uuid": new_uuid(), "location": path, "kind": kind, "format": fmt, "size": size}
    reg.media[m["uuid"]] = m
    return m


def medium_users(reg, m):
    users = []
    for vm in reg.vms.values():
        for ctl in vm["storage"]:
            for att in ctl["attachments"].values():
                if att.get("medium") == m["uuid"] and vm not in users:
                    users.append(vm)
    return users


# ---------------------------------------------------------------- host-only

def networks_allowed():
    """VirtualBox 6.1.28+: /etc/vbox/networks.conf ('* CIDR ...' lines); default 192.168.56.0/21."""
    path = os.environ.get("VBOXEMU_NETWORKS_CONF", "/etc/vbox/networks.conf")
    nets = []
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                words = line.split()
                if words and words[0] == "*":
                    for w in words[1:]:
                        try:
                            nets.append(ipaddress.ip_network(w, strict=False))
                        except ValueError:
                            pass
        return nets
    return [ipaddress.ip_network("192.168.56.0/21")]


def host_v4_networks(exclude_if=None):
    nets = []
    proc = run(["ip", "-4", "-o", "addr", "show"], check=False)
    for line in proc.stdout.splitlines():
        words = line.split()
        if len(words) >= 4 and words[1] != exclude_if:
            try:
                nets.append(ipaddress.ip_interface(words[3]).network)
            except ValueError:
                pass
    return nets


def link_exists(name):
    return os.path.exists(f"/sys/class/net/{name}")


def iptables_rules(bridge):
    c = ["-m", "comment", "--comment", f"vboxemu:{bridge}"]
    # Host-only: VMs on the bridge talk to each other and to the host, never beyond.
    return [["FORWARD", "-i", bridge, "-o", bridge] + c + ["-j", "ACCEPT"],
            ["FORWARD", "-i", bridge] + c + ["-j", "DROP"],
            ["FORWARD", "-o", bridge] + c + ["-j", "DROP"]]


def bridge_create(name):
    if not host_net_enabled():
        return
    if os.geteuid() != 0:
        raise VBoxError(["0%...", "Progress state: NS_ERROR_FAILURE",
                         "VBoxManage: error: Failed to create the host-only adapter",
                         "VBoxManage: error: VBoxNetAdpCtl: Error while adding new interface: "
                         "failed to open /dev/vboxnetctl: Permission denied (emulator: needs root "
                         "for a bridge; VBOXEMU_HOST_NET=0 keeps interfaces in the registry only)"])
    run(["ip", "link", "add", name, "type", "bridge"])
    run(["ip", "link", "set", name, "up"])
    if shutil.which("iptables"):
        # Insert DROPs first, then the ACCEPT above them.
        for rule in reversed(iptables_rules(name)):
            run(["iptables", "-I"] + rule, check=False)


def bridge_set_address(name, ip, prefix):
    if not host_net_enabled():
        return
    run(["ip", "-4", "addr", "flush", "dev", name], check=False)
    run(["ip", "addr", "add", f"{ip}/{prefix}", "dev", name])
    run(["ip", "link", "set", name, "up"])


def bridge_remove(name):
    if not host_net_enabled():
        return
    if shutil.which("iptables"):
        for rule in iptables_rules(name):
            while run(["iptables", "-D"] + rule, check=False).returncode == 0:
                pass
    if link_exists(name):
        run(["ip", "link", "del", name], check=False)


def hostonlyif_guid(name, index):
    digits = re.sub(r"^\D*", "", name) or "0"
    seg3 = "4%x74" % (ord(digits[0]) & 0xF)
    seg4 = "%02x00" % (0x80 | ord(digits[1])) if len(digits) > 1 else "8000"
    return f"786f6276-656e-{seg3}-{seg4}-0a00270000{index & 0xFF:02x}"


# ---------------------------------------------------------------- QMP / QEMU

def qmp(sock_path, *commands):
    """Runs QMP commands (each a name or (name, args)); returns the replies."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(k_qmp_timeout)
    s.connect(sock_path)
    stream = s.makefile("rw", encoding="utf-8", newline="\n")

    def read():
        while True:
            line = stream.readline()
            if not line:
                raise ConnectionError("QMP socket closed")
            msg = json.loads(line)
            if "event" not in msg:
                return msg

    try:
        read()
        stream.write(json.dumps({"execute": "qmp_capabilities"}) + "\n")
        stream.flush()
        read()
        replies = []
        for cmd in commands:
            name, args = (cmd, None) if isinstance(cmd, str) else cmd
            msg = {"execute": name}
            if args:
                msg["arguments"] = args
            stream.write(json.dumps(msg) + "\n")
            stream.flush()
            try:
                replies.append(read())
            except ConnectionError:
                if name != "quit":
                    raise
                replies.append({"return": {}})
        return replies
    finally:
        s.close()


def pid_alive(pid, marker):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return marker.encode() in f.read()
    except OSError:
        return False


def wait_gone(pid, marker, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if not pid_alive(pid, marker):
            return True
        time.sleep(0.1)
    return not pid_alive(pid, marker)


def kill_qemu(reg, vm):
    """Ends the VM's QEMU (QMP quit, then SIGTERM/SIGKILL by recorded pid)."""
    rt = vm.get("runtime") or {}
    pid, marker = rt.get("pid"), rt.get("marker", "")
    if pid and pid_alive(pid, marker):
        try:
            qmp(rt["qmp"], "quit")
        except (OSError, ConnectionError, ValueError):
            pass
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if wait_gone(pid, marker, 10):
                break
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        wait_gone(pid, marker, 5)
    cleanup_runtime(reg, vm)


def cleanup_runtime(reg, vm):
    rt = vm.get("runtime") or {}
    for tap in rt.get("taps", []):
        if link_exists(tap):
            run(["ip", "link", "del", tap], check=False)
    shutil.rmtree(reg.run_dir(vm), ignore_errors=True)
    vm["runtime"] = None


def set_state(vm, state):
    if vm["state"] != state:
        vm["state"] = state
        vm["state_since"] = now_iso()


def refresh(reg, vm):
    """Brings VMState up to date with the QEMU process: guest powered off →
    poweroff (QEMU is then told to quit), process gone → aborted."""
    if vm["state"] not in ("running", "paused", "saved"):
        return
    rt = vm.get("runtime") or {}
    pid, marker = rt.get("pid"), rt.get("marker", "")
    if not pid or not pid_alive(pid, marker):
        cleanup_runtime(reg, vm)
        set_state(vm, "aborted")
        return
    try:
        status = qmp(rt["qmp"], "query-status")[0]["return"]["status"]
    except (OSError, ConnectionError, ValueError, KeyError):
        return
    if status == "shutdown":
        kill_qemu(reg, vm)
        set_state(vm, "poweroff")
    elif status in ("internal-error", "guest-panicked", "io-error"):
        set_state(vm, "gurumeditation")
    elif status == "running" and vm["state"] == "paused":
        set_state(vm, "running")


NIC_MODELS = {"Am79C970A": "pcnet", "Am79C973": "pcnet", "Am79C960": "pcnet", "82540EM": "e1000",
              "82543GC": "e1000", "82545EM": "e1000-82545em", "virtio": "virtio-net-pci"}


def qemu_mac(mac):
    return ":".join(mac[i:i + 2] for i in range(0, 12, 2)).lower()


def qarg(value):
    """A value inside a QEMU option list: commas are doubled."""
    return value.replace(",", ",,")


def build_qemu(reg, vm, run_dir):
    """The qemu-system-x86_64 command line for a VM; returns (argv, taps)."""
    marker = "vboxemu-" + vm["uuid"]
    machine = "q35" if vm["chipset"] == "ich9" else "pc"
    if vm["acpi"] == "off":
        machine += ",acpi=off"
    accel = os.environ.get("VBOXEMU_ACCEL", "tcg,tb-size=256")
    logs = os.path.join(vm["folder"], "Logs")
    argv = [os.environ.get("VBOXEMU_QEMU", "qemu-system-x86_64"),
            "-name", f"{qarg(vm['name'])},process={marker}", "-no-user-config", "-nodefaults",
            "-machine", machine, "-accel", accel, "-m", str(vm["memory"]), "-smp", str(vm["cpus"]),
            "-rtc", "base=utc" if vm["rtcuseutc"] == "on" else "base=localtime",
            "-display", "none", "-vga", "none",
            "-serial", f"file:{qarg(os.path.join(logs, 'console.log'))}",
            "-qmp", f"unix:{qarg(os.path.join(run_dir, 'qmp.sock'))},server=on,wait=off",
            "-pidfile", os.path.join(run_dir, "qemu.pid"), "-daemonize", "-no-shutdown"]
    if vm["firmware"] != "BIOS":
        ovmf = "/usr/share/ovmf/OVMF.fd"
        if not os.path.isfile(ovmf):
            raise plain_error(f"emulator: firmware {vm['firmware']} needs {ovmf} (package ovmf)")
        argv += ["-bios", ovmf]
    # Boot order → bootindex: devices of the first boot type come first.
    order = [b for b in vm["boot"] if b != "none"]

    def bootindex(kind, seq):
        return (order.index(kind) * 100 + seq) if kind in order else None

    seq = 0
    for ci, ctl in enumerate(vm["storage"]):
        bus = None
        if ctl["bus"] == "sata":
            argv += ["-device", f"ahci,id=ctl{ci}"]
        elif ctl["bus"] == "virtio":
            argv += ["-device", f"virtio-scsi-pci,id=ctl{ci}"]
        elif ctl["bus"] == "scsi":
            argv += ["-device", f"lsi53c895a,id=ctl{ci}"]
        elif ctl["bus"] != "ide":
            raise plain_error(f"emulator: storage bus '{ctl['bus']}' is not supported by the QEMU backend")
        for key in sorted(ctl["attachments"], key=lambda k: tuple(int(x) for x in k.split(":"))):
            att = ctl["attachments"][key]
            port, dev = (int(x) for x in key.split(":"))
            m = reg.media.get(att.get("medium") or "")
            if not m:
                continue  # empty drive
            seq += 1
            did = f"d{ci}p{port}d{dev}"
            is_cd = att["type"] == "dvddrive"
            fmt = "raw" if is_cd else QEMU_FORMAT.get(m["format"], "raw")
            ro = ",readonly=on" if is_cd else ""
            argv += ["-drive", f"file={qarg(m['location'])},format={fmt},if=none,id={did}{ro}"]
            bi = bootindex("dvd" if is_cd else "disk", seq)
            bis = f",bootindex={bi}" if bi is not None else ""
            if ctl["bus"] == "ide":
                bus = f"ide.{port}"
                model = "ide-cd" if is_cd else "ide-hd"
                argv += ["-device", f"{model},drive={did},bus={bus},unit={dev}{bis}"]
            elif ctl["bus"] == "sata":
                model = "ide-cd" if is_cd else "ide-hd"
                argv += ["-device", f"{model},drive={did},bus=ctl{ci}.{port}{bis}"]
            else:
                model = "scsi-cd" if is_cd else "scsi-hd"
                argv += ["-device", f"{model},drive={did},bus=ctl{ci}.0,scsi-id={port},lun={dev}{bis}"]
    taps = []
    for n in range(1, 9):
        nic = vm["nics"][str(n)]
        kind = nic["type"]
        if kind in ("none",):
            continue
        model = NIC_MODELS[nic["nictype"]]
        if kind == "null":
            continue  # a card with no cable anywhere: nothing to emulate
        if kind == "nat":
            net = nic.get("natnet") or f"10.0.{n + 1}.0/24"
            opts = [f"user,id=nic{n}", "restrict=on", "ipv6=off", f"net={net}"]
            for r in nic["natpf"]:
                opts.append(f"hostfwd={r['proto']}:{r['hostip']}:{r['hostport']}-{r['guestip']}:{r['guestport']}")
            argv += ["-netdev", ",".join(opts)]
        elif kind in ("hostonly", "hostonlynet"):
            if kind == "hostonly":
                hif = reg.data["hostonlyifs"].get(nic.get("hostonlyadapter") or "")
                bridge = hif["name"] if hif else None
                label = f"HostInterfaceNetworking-{nic.get('hostonlyadapter')}"
            else:
                hnet = reg.data["hostonlynets"].get(nic.get("hostonlynet") or "")
                bridge = hnet["bridge"] if hnet else None
                label = f"hostonly-{nic.get('hostonlynet')}"
            if not bridge or (host_net_enabled() and not link_exists(bridge)):
                raise com_error(
                    f"Failed to open/create the internal network '{label}' (VERR_INTNET_FLT_IF_NOT_FOUND).\n"
                    "VBoxManage: error: Failed to attach the network LUN (VERR_INTNET_FLT_IF_NOT_FOUND)",
                    "NS_ERROR_FAILURE", "0x80004005", "ConsoleWrap", "IConsole",
                    "PowerUp(progress.asOutParam())", 1090, "VBoxManageMisc.cpp")
            if not host_net_enabled() or os.geteuid() != 0:
                raise plain_error("emulator: a host-only NIC needs root and VBOXEMU_HOST_NET=1 (a tap on the bridge)")
            tap = f"{if_prefix()}t{vm['uuid'].replace('-', '')[:5]}{n}"
            taps.append((tap, bridge))
            argv += ["-netdev", f"tap,id=nic{n},ifname={tap},script=no,downscript=no"]
        else:
            raise plain_error(f"emulator: attachment '{kind}' of NIC {n} is not supported by the QEMU backend")
        rom = "" if "net" in order else ",romfile="
        argv += ["-device", f"{model},netdev=nic{n},mac={qemu_mac(nic['mac'])}{rom}"]
    return argv, taps, marker
