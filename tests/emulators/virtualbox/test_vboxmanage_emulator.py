#!/usr/bin/python3
"""Fast tests of the VBoxManage emulator (no guest OS boots): output formats
against real VirtualBox captures (docker-machine's drivers/virtualbox tests),
error texts and exit codes, state rules (with a real but empty QEMU VM when
qemu-system-x86_64 exists), registry persistence and locking. No root needed:
host-only interfaces are registry-only here (VBOXEMU_HOST_NET=0).

    python3 tests/emulators/virtualbox/test_vboxmanage_emulator.py
"""
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
VBM = os.path.join(HERE, "VBoxManage")
HAVE_QEMU = shutil.which("qemu-system-x86_64") is not None and shutil.which("qemu-img") is not None


def parse_mr(text):
    """docker-machine's parser of showvminfo --machinereadable: key=value, quotes stripped."""
    out = {}
    for line in text.splitlines():
        m = re.match(r'^("?[^"=]+"?)=(.*)$', line)
        if m:
            out[m.group(1).strip('"')] = m.group(2).strip('"')
    return out


def parse_colon_blocks(text):
    """docker-machine's parser of 'list hostonlyifs': 'Key:  value' lines, a new block at 'Name:'."""
    blocks = []
    for line in text.splitlines():
        m = re.match(r"^(.+?):\s+(.*)$", line)
        if not m:
            continue
        if m.group(1) in ("Name", "NetworkName"):
            blocks.append({})
        blocks[-1][m.group(1)] = m.group(2)
    return blocks


class EmulatorCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vbe-unit.")
        self.env = dict(os.environ, VBOXEMU_HOME=os.path.join(self.tmp, "home"), VBOXEMU_HOST_NET="0",
                        VBOXEMU_NETWORKS_CONF=os.path.join(self.tmp, "no-networks.conf"))
        for k in ("VBOXEMU_IF_PREFIX", "VBOXEMU_VTX"):
            self.env.pop(k, None)

    def tearDown(self):
        # Power off anything a test left running, by the emulator's own commands.
        r = self.vbm("list", "runningvms")
        for line in r.stdout.splitlines():
            name = line.split('"')[1]
            self.vbm("controlvm", name, "poweroff")
        shutil.rmtree(self.tmp, ignore_errors=True)

    def vbm(self, *args, env=None, stdin=None):
        return subprocess.run([VBM] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=stdin is None,
                              env=env or self.env, input=stdin, timeout=120)

    def ok(self, *args, **kw):
        r = self.vbm(*args, **kw)
        self.assertEqual(r.returncode, 0, f"VBoxManage {' '.join(args)}: {r.stderr}")
        return r.stdout

    def fails(self, code, *args):
        r = self.vbm(*args)
        self.assertEqual(r.returncode, code, f"VBoxManage {' '.join(args)}: rc {r.returncode}: {r.stdout} {r.stderr}")
        return r.stderr

    def mr(self, vm):
        return parse_mr(self.ok("showvminfo", vm, "--machinereadable"))

    def make_vm(self, name="vm1"):
        out = self.ok("createvm", "--name", name, "--basefolder", os.path.join(self.tmp, "machines"), "--register")
        return re.search(r"^UUID: (\S+)$", out, re.M).group(1)

    def raw(self, name, size=1 << 20):
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.truncate(size)
        return path


class TestBasics(EmulatorCase):
    def test_version(self):
        self.assertRegex(self.ok("--version"), r"^7\.0\.\d+r\d+\n$")

    def test_unknown_command(self):
        self.assertIn("Invalid command 'frobnicate'", self.fails(2, "frobnicate"))

    def test_createvm_output_and_list(self):
        out = self.ok("createvm", "--name", "vm1", "--basefolder", os.path.join(self.tmp, "m"), "--register")
        lines = out.splitlines()
        self.assertEqual(lines[0], "Virtual machine 'vm1' is created and registered.")
        self.assertRegex(lines[1], r"^UUID: [0-9a-f-]{36}$")
        cfg = os.path.join(self.tmp, "m", "vm1", "vm1.vbox")
        self.assertEqual(lines[2], f"Settings file: '{cfg}'")
        self.assertTrue(os.path.isfile(cfg))
        uid = lines[1].split()[1]
        self.assertEqual(self.ok("list", "vms"), f'"vm1" {{{uid}}}\n')
        self.assertEqual(self.ok("list", "runningvms"), "")
        err = self.fails(1, "createvm", "--name", "vm1", "--basefolder", os.path.join(self.tmp, "m"), "--register")
        self.assertIn(f"VBoxManage: error: Machine settings file '{cfg}' already exists", err)
        self.assertIn("Details: code VBOX_E_FILE_ERROR (0x80bb0004)", err)
        self.assertIn("createvm --name=name", self.fails(2, "createvm", "--register"))

    def test_names_and_uuids_cannot_choose_paths(self):
        out = self.ok("createvm", "--name", "a/../b", "--basefolder", os.path.join(self.tmp, "m"), "--register")
        self.assertIn(f"Settings file: '{os.path.join(self.tmp, 'm', 'a_.._b', 'a_.._b.vbox')}'", out)
        self.assertIn("is not a valid UUID", self.fails(1, "createvm", "--name", "x", "--uuid", "../../etc"))
        self.assertIn('"a/../b" {', self.ok("list", "vms"))

    def test_vm_not_found(self):
        err = self.fails(1, "showvminfo", "unknown", "--machinereadable")
        self.assertEqual(err.splitlines(), [
            "VBoxManage: error: Could not find a registered machine named 'unknown'",
            "VBoxManage: error: Details: code VBOX_E_OBJECT_NOT_FOUND (0x80bb0001), component VirtualBoxWrap, "
            "interface IVirtualBox, callee nsISupports",
            'VBoxManage: error: Context: "FindMachine(Bstr(VMNameOrUuid).raw(), machine.asOutParam())" at line '
            "2719 of file VBoxManageInfo.cpp"])
        for args in (("modifyvm", "unknown", "--cpus", "2"), ("controlvm", "unknown", "poweroff"),
                     ("startvm", "unknown"), ("unregistervm", "unknown", "--delete")):
            self.assertIn("Could not find a registered machine named 'unknown'", self.fails(1, *args))

    def test_registry_on_disk_and_mode(self):
        uid = self.make_vm()
        home = self.env["VBOXEMU_HOME"]
        self.assertEqual(stat.S_IMODE(os.stat(home).st_mode), 0o700)
        with open(os.path.join(home, "registry.json"), encoding="utf-8") as f:
            self.assertIn(uid, json.load(f)["vms"])
        self.ok("modifyvm", "vm1", "--memory", "1024")
        self.assertEqual(self.mr(uid)["memory"], "1024")  # by UUID too

    def test_parallel_invocations_are_serialized(self):
        names = [f"p{i}" for i in range(8)]
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda n: self.vbm("createvm", "--name", n, "--register", "--basefolder",
                                                       os.path.join(self.tmp, "m")), names))
        self.assertTrue(all(r.returncode == 0 for r in results), [r.stderr for r in results])
        listed = re.findall(r'^"(p\d)" ', self.ok("list", "vms"), re.M)
        self.assertEqual(sorted(listed), names)

    def test_list_unknown_and_systemproperties(self):
        self.fails(2, "list", "frobs")
        props = dict(re.findall(r"^([^:]+):\s+(.*)$", self.ok("list", "systemproperties"), re.M))
        self.assertEqual(props["API version"], "7_0")
        self.assertEqual(props["Default machine folder"], os.path.join(self.env["VBOXEMU_HOME"], "VirtualBox VMs"))
        self.assertEqual(props["Default hard disk format"], "VDI")

    def test_hostinfo_vtx(self):
        self.assertIn("Processor supports HW virtualization: yes", self.ok("list", "hostinfo"))
        env = dict(self.env, VBOXEMU_VTX="off")
        r = self.vbm("list", "hostinfo", env=env)
        self.assertIn("Processor supports HW virtualization: no", r.stdout)
        self.make_vm()
        r = self.vbm("startvm", "vm1", "--type", "headless", env=env)
        self.assertEqual(r.returncode, 1)
        self.assertIn("VT-x is disabled in the BIOS for all CPU modes (VERR_VMX_MSR_ALL_VMX_DISABLED)", r.stderr)
        self.assertEqual(self.mr("vm1")["VMState"], "poweroff")


class TestModifyVM(EmulatorCase):
    def test_docker_machine_modifyvm_sequence(self):
        self.make_vm("default")
        # The exact calls docker-machine's TestCreateVM expects, with virtio NICs.
        self.ok(*("modifyvm default --firmware bios --bioslogofadein off --bioslogofadeout off "
                  "--bioslogodisplaytime 0 --biosbootmenu disabled --ostype Linux26_64 --cpus 1 --memory 1024 "
                  "--acpi on --ioapic on --rtcuseutc on --natdnshostresolver1 off --natdnsproxy1 on "
                  "--cpuhotplug off --pae on --hpet on --hwvirtex on --nestedpaging on --largepages on "
                  "--vtxvpid on --accelerate3d off --boot1 dvd").split())
        self.ok(*"modifyvm default --nic1 nat --nictype1 virtio --cableconnected1 on".split())
        self.ok(*("modifyvm default --nic2 hostonly --nictype2 virtio --nicpromisc2 deny --hostonlyadapter2 "
                  "vboxnet0 --cableconnected2 on --macaddress2 004488AABBCC").split())
        self.vbm("modifyvm", "default", "--natpf1", "delete", "ssh")  # docker-machine ignores this one's result
        self.ok("modifyvm", "default", "--natpf1", "ssh,tcp,127.0.0.1,40022,,22")
        info = self.mr("default")
        self.assertEqual(info["VMState"], "poweroff")
        self.assertEqual(info["memory"], "1024")
        self.assertEqual(info["cpus"], "1")
        self.assertEqual(info["firmware"], "BIOS")
        self.assertEqual(info["ostype"], "Linux26_64")
        self.assertEqual(info["boot1"], "dvd")
        self.assertEqual(info["nic1"], "nat")
        self.assertEqual(info["nictype1"], "virtio")
        self.assertEqual(info["natnet1"], "nat")
        self.assertEqual(info["Forwarding(0)"], "ssh,tcp,127.0.0.1,40022,,22")
        self.assertEqual(info["nic2"], "hostonly")
        self.assertEqual(info["hostonlyadapter2"], "vboxnet0")
        self.assertEqual(info["macaddress2"].lower(), "004488aabbcc")  # TestGetHostOnlyMACAddress
        self.assertRegex(info["macaddress1"], r"^080027[0-9A-F]{6}$")
        self.assertEqual(info["nic3"], "none")
        human = self.ok("showvminfo", "default")
        self.assertRegex(human, r"(?m)^Memory size:\s+1024MB$")
        self.assertRegex(human, r"(?m)^NIC 1 Rule\(0\):\s+name = ssh, protocol = tcp, host ip = 127.0.0.1, "
                                r"host port = 40022, guest ip = , guest port = 22$")
        self.assertRegex(human, r"(?m)^State:\s+powered off \(since ")

    def test_unknown_option_is_a_syntax_error(self):
        self.make_vm()
        err = self.fails(2, "modifyvm", "vm1", "--cpus", "2", "--synthcpu", "on")
        self.assertIn("VBoxManage: error: Unknown option: --synthcpu", err)
        self.assertEqual(self.mr("vm1")["cpus"], "1")
        self.assertIn("Unknown option: --frob", self.fails(2, "storagectl", "vm1", "--name", "x", "--frob"))
        self.assertIn("Unknown option: --frob", self.fails(2, "startvm", "vm1", "--frob"))
        self.assertIn("Unknown option: --frob", self.fails(2, "hostonlyif", "ipconfig", "vboxnet0", "--frob"))
        self.fails(2, "modifyvm", "vm1", "--cpus")  # value missing
        self.fails(2, "modifyvm", "vm1", "--cpus", "two")

    def test_bad_values_change_nothing(self):
        self.make_vm()
        self.assertIn("Invalid type 'wifi' specfied for NIC 1", self.fails(1, "modifyvm", "vm1", "--memory", "999", "--nic1", "wifi"))
        self.assertEqual(self.mr("vm1")["memory"], "128")  # the whole command was discarded
        self.assertIn("Invalid NIC type 'rtl8139'", self.fails(1, "modifyvm", "vm1", "--nictype1", "rtl8139"))
        self.assertIn("Invalid MAC address format", self.fails(1, "modifyvm", "vm1", "--macaddress1", "01005e000001"))
        self.assertIn("Invalid MAC address format", self.fails(1, "modifyvm", "vm1", "--macaddress1", "08:00:27:00:00:01"))
        self.assertIn("Invalid virtual CPU count: 0", self.fails(1, "modifyvm", "vm1", "--cpus", "0"))
        self.assertIn("Invalid --acpi argument 'yes'", self.fails(1, "modifyvm", "vm1", "--acpi", "yes"))
        self.assertIn("Guest OS type 'Plan9' is invalid", self.fails(1, "modifyvm", "vm1", "--ostype", "Plan9"))
        self.assertIn("Invalid NAT rule", self.fails(1, "modifyvm", "vm1", "--natpf1", "ssh,tcp,127.0.0.1,x,,22"))

    def test_natpf_rules(self):
        self.make_vm()
        self.ok("modifyvm", "vm1", "--natpf1", "ssh,tcp,127.0.0.1,2222,,22")
        err = self.fails(1, "modifyvm", "vm1", "--natpf1", "ssh,tcp,127.0.0.1,2223,,22")
        self.assertIn("VBoxManage: error: A NAT rule of this name already exists", err)
        self.assertIn("A NAT rule for this host port and this host IP already exists",
                      self.fails(1, "modifyvm", "vm1", "--natpf1", "other,tcp,127.0.0.1,2222,,23"))
        err = self.fails(1, "modifyvm", "vm1", "--natpf1", "delete", "nope")
        self.assertEqual(err.splitlines()[0], "VBoxManage: error: Code NS_ERROR_INVALID_ARG (0x80070057) - "
                                              "Invalid argument value (extended info not available)")
        self.ok("modifyvm", "vm1", "--natpf1", "web,tcp,,8080,,80")
        self.ok("modifyvm", "vm1", "--natpf1", "delete", "ssh")
        info = self.mr("vm1")
        self.assertEqual(info["Forwarding(0)"], "web,tcp,,8080,,80")
        self.assertNotIn("Forwarding(1)", info)


class TestStorage(EmulatorCase):
    @unittest.skipUnless(HAVE_QEMU, "qemu-img is missing")
    def test_docker_machine_storage_layout(self):
        self.make_vm("default")
        raw = self.raw("disk.raw", 4 << 20)
        disk = os.path.join(self.tmp, "disk.vdi")
        out = self.ok("convertfromraw", raw, disk, "--format", "VDI")
        self.assertEqual(out, f'Converting from raw image file="{raw}" to file="{disk}"...\n'
                              "Creating dynamic image with size 4194304 bytes (4MB)...\n")
        iso = self.raw("boot.iso", 2048 * 10)
        self.ok(*"storagectl default --name SATA --add sata --hostiocache on".split())
        self.assertIn("Storage controller named 'SATA' already exists",
                      self.fails(1, *"storagectl default --name SATA --add sata".split()))
        self.ok("storageattach", "default", "--storagectl", "SATA", "--port", "0", "--device", "0", "--type",
                "dvddrive", "--medium", iso)
        self.ok("storageattach", "default", "--storagectl", "SATA", "--port", "1", "--device", "0", "--type",
                "hdd", "--medium", disk)
        info = self.mr("default")  # the keys docker-machine's getVMDiskInfo reads
        self.assertEqual(info["storagecontrollerbootable0"], "on")
        self.assertEqual(info["SATA-0-0"], iso)
        self.assertEqual(info["SATA-IsEjected"], "off")
        self.assertEqual(info["SATA-1-0"], disk)
        self.assertRegex(info["SATA-ImageUUID-1-0"], r"^[0-9a-f-]{36}$")
        self.assertEqual(info["SATA-2-0"], "none")
        hdds = self.ok("list", "hdds")
        self.assertIn(f"Location:       {disk}\nStorage format: VDI\nCapacity:       4 MBytes\n", hdds)
        self.assertIn("In use by VMs:  default (UUID: ", hdds)
        err = self.fails(1, "storageattach", "default", "--storagectl", "SATA", "--port", "2", "--device", "0",
                         "--type", "hdd", "--medium", os.path.join(self.tmp, "missing.vdi"))
        self.assertEqual(err.splitlines()[0], "VBoxManage: error: Could not find file for the medium '"
                         + os.path.join(self.tmp, "missing.vdi") + "' (VERR_FILE_NOT_FOUND)")
        self.assertIn("out of range", self.fails(1, "storageattach", "default", "--storagectl", "SATA", "--port",
                                                 "30", "--device", "0", "--type", "hdd", "--medium", disk))
        self.assertIn("Could not find a controller named 'IDE'",
                      self.fails(1, "storageattach", "default", "--storagectl", "IDE", "--port", "0", "--device",
                                 "0", "--type", "hdd", "--medium", disk))
        self.assertIn("because it is still attached", self.fails(1, "closemedium", "disk", disk))
        self.make_vm("other")
        self.ok(*"storagectl other --name IDE --add ide".split())
        self.assertIn("is already attached to the virtual machine 'default'",
                      self.fails(1, "storageattach", "other", "--storagectl", "IDE", "--port", "0", "--device",
                                 "0", "--type", "hdd", "--medium", disk))
        self.ok("unregistervm", "default", "--delete")
        self.assertFalse(os.path.exists(disk))
        self.assertTrue(os.path.exists(iso))  # DVD images survive --delete (only --delete-all removes them)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "machines", "default")))
        self.assertNotIn(disk, self.ok("list", "hdds"))

    @unittest.skipUnless(HAVE_QEMU, "qemu-img is missing")
    def test_media_commands(self):
        raw = self.raw("disk.raw", 2 << 20)
        disk = os.path.join(self.tmp, "d.vdi")
        out = self.vbm("convertfromraw", "stdin", disk, str(1 << 20), "--format", "VDI", stdin=b"\0" * (1 << 20))
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn(b'Converting from raw image file="stdin"', out.stdout)
        self.assertIn("VERR_ALREADY_EXISTS", self.fails(1, "convertfromraw", raw, disk))
        self.ok("modifymedium", "disk", disk, "--resize", "8")
        info = dict(re.findall(r"^([^:]+):\s+(.*)$", self.ok("showmediuminfo", "disk", disk), re.M))
        self.assertEqual(info["Capacity"], "8 MBytes")
        self.assertEqual(info["Storage format"], "VDI")
        self.assertEqual(info["Location"], disk)
        self.assertIn("Shrinking is not yet supported", self.fails(1, "modifymedium", "disk", disk, "--resize", "4"))
        qcow = os.path.join(self.tmp, "src.qcow2")
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", qcow, "3M"], check=True)
        clone = os.path.join(self.tmp, "clone.vdi")
        out = self.ok("clonemedium", "disk", qcow, clone, "--format", "VDI")
        self.assertRegex(out, r"^Clone medium created in format 'VDI'. UUID: [0-9a-f-]{36}\n$")
        self.assertIn(f"Cannot register the hard disk '{clone}'", self.fails(1, "clonehd", qcow, clone))
        vmdk = os.path.join(self.tmp, "clone.vmdk")
        self.ok("clonehd", clone, vmdk, "--format", "VMDK")
        self.assertIn("Resize medium operation for this format is not implemented yet!",
                      self.fails(1, "modifyhd", vmdk, "--resize", "100"))
        self.ok("closemedium", "disk", vmdk, "--delete")
        self.assertFalse(os.path.exists(vmdk))
        self.ok("closemedium", "disk", clone)
        self.assertTrue(os.path.exists(clone))
        self.assertNotIn(clone, self.ok("list", "hdds"))
        self.assertIn("Medium created. UUID:", self.ok("createmedium", "disk", "--filename",
                                                         os.path.join(self.tmp, "new.vdi"), "--size", "16"))


class TestMisc(EmulatorCase):
    def test_sharedfolder_guestproperty_extradata(self):
        self.make_vm("default")
        self.ok("guestproperty", "set", "default", "/VirtualBox/GuestAdd/SharedFolders/MountPrefix", "/")
        self.assertEqual(self.ok("guestproperty", "get", "default", "/VirtualBox/GuestInfo/Net/1/V4/IP"),
                         "No value set!\n")
        self.assertEqual(self.ok("guestproperty", "get", "default", "/VirtualBox/GuestAdd/SharedFolders/MountPrefix"),
                         "Value: /\n")
        self.ok("sharedfolder", "add", "default", "--name", "hosthome", "--hostpath", "/home", "--automount")
        self.assertIn("Shared folder named 'hosthome' already exists",
                      self.fails(1, "sharedfolder", "add", "default", "--name", "hosthome", "--hostpath", "/home"))
        self.assertIn("is not absolute", self.fails(1, "sharedfolder", "add", "default", "--name", "x",
                                                     "--hostpath", "rel"))
        info = self.mr("default")
        self.assertEqual(info["SharedFolderNameMachineMapping1"], "hosthome")
        self.assertEqual(info["SharedFolderPathMachineMapping1"], "/home")
        self.ok("setextradata", "default", "VBoxInternal2/SharedFoldersEnableSymlinksCreate/hosthome", "1")
        self.assertEqual(self.ok("getextradata", "default", "VBoxInternal2/SharedFoldersEnableSymlinksCreate/hosthome"),
                         "Value: 1\n")
        self.ok("sharedfolder", "remove", "default", "--name", "hosthome")
        self.assertNotIn("SharedFolderNameMachineMapping1", self.mr("default"))

    def test_hostonlyifs_like_virtualbox(self):
        out = self.vbm("hostonlyif", "create")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout, "Interface 'vboxnet0' was successfully created\n")
        self.assertIn("100%", out.stderr)  # the progress goes to stderr
        self.ok("hostonlyif", "create")
        blocks = parse_colon_blocks(self.ok("list", "hostonlyifs"))
        # The real captures (docker-machine network_test.go, minikube #12764).
        self.assertEqual(blocks[0]["Name"], "vboxnet0")
        self.assertEqual(blocks[0]["GUID"], "786f6276-656e-4074-8000-0a0027000000")
        self.assertEqual(blocks[0]["DHCP"], "Disabled")
        self.assertEqual(blocks[0]["IPAddress"], "192.168.56.1")
        self.assertEqual(blocks[0]["NetworkMask"], "255.255.255.0")
        self.assertEqual(blocks[0]["HardwareAddress"], "0a:00:27:00:00:00")
        self.assertEqual(blocks[0]["MediumType"], "Ethernet")
        self.assertEqual(blocks[0]["Status"], "Up")
        self.assertEqual(blocks[0]["VBoxNetworkName"], "HostInterfaceNetworking-vboxnet0")
        self.assertEqual(blocks[1]["GUID"], "786f6276-656e-4174-8000-0a0027000001")
        self.assertEqual(blocks[1]["IPAddress"], "192.168.57.1")
        # VirtualBox 6.1.28+: only 192.168.56.0/21 unless /etc/vbox/networks.conf allows more.
        err = self.fails(1, "hostonlyif", "ipconfig", "vboxnet0", "--ip", "192.168.99.1", "--netmask", "255.255.255.0")
        self.assertEqual(err.splitlines(), [
            "VBoxManage: error: Code E_ACCESSDENIED (0x80070005) - Access denied (extended info not available)",
            'VBoxManage: error: Context: "EnableStaticIPConfig(Bstr(pszIp).raw(), Bstr(pszNetmask).raw())" '
            "at line 242 of file VBoxManageHostonly.cpp"])
        self.ok("hostonlyif", "ipconfig", "vboxnet0", "--ip", "192.168.60.1", "--netmask", "255.255.255.0")
        self.assertEqual(parse_colon_blocks(self.ok("list", "hostonlyifs"))[0]["IPAddress"], "192.168.60.1")
        with open(self.env["VBOXEMU_NETWORKS_CONF"], "w", encoding="utf-8") as f:
            f.write("* 192.168.99.0/24 10.0.0.0/8\n")
        self.ok("hostonlyif", "ipconfig", "vboxnet1", "--ip", "192.168.99.1", "--netmask", "255.255.255.0")
        self.assertIn("E_NOTIMPL", self.fails(1, "hostonlyif", "ipconfig", "vboxnet1", "--dhcp"))
        self.assertIn("The host network interface named 'vboxnet9' could not be found",
                      self.fails(1, "hostonlyif", "remove", "vboxnet9"))
        self.ok("hostonlyif", "remove", "vboxnet0")
        self.ok("hostonlyif", "remove", "vboxnet1")
        self.assertEqual(self.ok("list", "hostonlyifs"), "")

    def test_if_prefix(self):
        env = dict(self.env, VBOXEMU_IF_PREFIX="dmvbe")
        r = self.vbm("hostonlyif", "create", env=env)
        self.assertEqual(r.stdout, "Interface 'dmvbe0' was successfully created\n")
        r = self.vbm("hostonlyif", "create", env=dict(self.env, VBOXEMU_IF_PREFIX="Bad-Prefix!"))
        self.assertEqual(r.returncode, 1)

    def test_dhcpservers_and_hostonlynets(self):
        self.ok("hostonlyif", "create")
        self.ok(*("dhcpserver add --netname HostInterfaceNetworking-vboxnet0 --ip 192.168.56.6 --netmask "
                  "255.255.255.0 --lowerip 192.168.56.100 --upperip 192.168.56.254 --enable").split())
        self.assertIn("DHCP server already exists",
                      self.fails(1, *("dhcpserver add --netname HostInterfaceNetworking-vboxnet0 --ip 192.168.56.6 "
                                      "--netmask 255.255.255.0 --lowerip 192.168.56.100 --upperip "
                                      "192.168.56.254 --enable").split()))
        out = self.ok("list", "dhcpservers")
        self.assertIn("NetworkName:    HostInterfaceNetworking-vboxnet0\nDhcpd IP:       192.168.56.6\n"
                      "LowerIPAddress: 192.168.56.100\nUpperIPAddress: 192.168.56.254\nNetworkMask:    "
                      "255.255.255.0\nEnabled:        Yes\n", out)
        self.ok(*"dhcpserver modify --interface vboxnet0 --disable".split())
        self.assertIn("Enabled:        No", self.ok("list", "dhcpservers"))
        self.ok(*"dhcpserver remove --netname HostInterfaceNetworking-vboxnet0".split())
        self.assertEqual(self.ok("list", "dhcpservers"), "")
        self.ok("hostonlynet", "add", "--name=HostNet", "--netmask=255.255.255.0", "--lower-ip=192.168.58.100",
                "--upper-ip=192.168.58.199", "--enable")
        nets = parse_colon_blocks(self.ok("list", "hostonlynets"))
        self.assertEqual(nets[0]["Name"], "HostNet")
        self.assertEqual(nets[0]["State"], "Enabled")
        self.assertEqual(nets[0]["VBoxNetworkName"], "hostonly-HostNet")
        self.make_vm()
        self.ok("modifyvm", "vm1", "--nic2", "hostonlynet", "--host-only-net2", "HostNet")
        self.assertEqual(self.mr("vm1")["hostonly-network2"], "HostNet")
        self.ok("hostonlynet", "remove", "--name=HostNet")
        self.assertEqual(self.ok("list", "hostonlynets"), "")


@unittest.skipUnless(HAVE_QEMU, "qemu-system-x86_64 or qemu-img is missing")
class TestStates(EmulatorCase):
    """A real QEMU VM with an empty disk (SeaBIOS finds nothing to boot): the
    state rules VirtualBox enforces, through QMP."""

    def make_running(self):
        self.make_vm()
        disk = os.path.join(self.tmp, "empty.vdi")
        self.ok("convertfromraw", self.raw("e.raw"), disk)
        self.ok("modifyvm", "vm1", "--memory", "32", "--nictype1", "virtio")
        self.ok(*"storagectl vm1 --name IDE --add ide".split())
        self.ok("storageattach", "vm1", "--storagectl", "IDE", "--port", "0", "--device", "0", "--type", "hdd",
                "--medium", disk)
        out = self.ok("startvm", "vm1", "--type", "headless")
        self.assertEqual(out, 'Waiting for VM "vm1" to power on...\nVM "vm1" has been successfully started.\n')
        return disk

    def state(self):
        return self.mr("vm1")["VMState"]

    def test_state_rules(self):
        disk = self.make_running()
        self.assertEqual(self.state(), "running")
        self.assertRegex(self.ok("list", "runningvms"), r'^"vm1" \{[0-9a-f-]{36}\}\n$')
        err = self.fails(1, "startvm", "vm1", "--type", "headless")
        self.assertIn("VBoxManage: error: The machine 'vm1' is already locked by a session (or being locked or "
                      "unlocked)", err)
        self.assertIn("LaunchVMProcess(a->session", err)
        self.assertIn("is already locked for a session", self.fails(1, "modifyvm", "vm1", "--cpus", "2"))
        self.assertIn("is already locked for a session", self.fails(1, "storagectl", "vm1", "--name", "S", "--add",
                                                                      "sata"))
        err = self.fails(1, "unregistervm", "vm1", "--delete")
        self.assertEqual(err.splitlines()[0], "VBoxManage: error: Cannot unregister the machine 'vm1' while it is locked")
        self.assertIn("locked for writing", self.fails(1, "modifymedium", disk, "--resize", "10"))
        self.ok("controlvm", "vm1", "pause")
        self.assertEqual(self.state(), "paused")
        self.assertIn("Invalid machine state: Paused", self.fails(1, "controlvm", "vm1", "acpipowerbutton"))
        self.assertIn("Invalid machine state: Paused", self.fails(1, "controlvm", "vm1", "pause"))
        self.assertIn('"vm1"', self.ok("list", "runningvms"))
        self.ok("controlvm", "vm1", "resume")
        self.assertEqual(self.state(), "running")
        self.assertIn("Invalid machine state: Running", self.fails(1, "controlvm", "vm1", "resume"))
        self.ok("controlvm", "vm1", "acpipowerbutton")  # no OS: nothing happens, the VM keeps running
        self.assertEqual(self.state(), "running")
        self.ok("controlvm", "vm1", "reset")
        self.ok("controlvm", "vm1", "savestate")
        self.assertEqual(self.state(), "saved")
        self.assertEqual(self.ok("list", "runningvms"), "")
        self.assertEqual(self.fails(1, "controlvm", "vm1", "poweroff"),
                         "VBoxManage: error: Machine 'vm1' is not currently running\n")
        self.ok("startvm", "vm1", "--type", "headless")  # restores the saved state
        self.assertEqual(self.state(), "running")
        self.ok("controlvm", "vm1", "poweroff")
        self.assertEqual(self.state(), "poweroff")
        self.assertEqual(self.fails(1, "controlvm", "vm1", "pause"),
                         "VBoxManage: error: Machine 'vm1' is not currently running\n")
        self.assertIn("Invalid parameter 'frob'", self.fails(2, "controlvm", "vm1", "frob"))
        self.ok("modifyvm", "vm1", "--cpus", "2")  # unlocked again

    def test_dead_qemu_is_aborted_and_unregister_leaves_nothing(self):
        disk = self.make_running()
        with open(os.path.join(self.env["VBOXEMU_HOME"], "registry.json"), encoding="utf-8") as f:
            vm = next(iter(json.load(f)["vms"].values()))
        pid = vm["runtime"]["pid"]
        os.kill(pid, signal.SIGKILL)
        for _ in range(50):
            try:
                with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
                    if f.read().split()[2] == "Z":
                        break
            except OSError:
                break
            time.sleep(0.1)
        self.assertEqual(self.state(), "aborted")
        self.assertIn("is not currently running", self.fails(1, "controlvm", "vm1", "acpipowerbutton"))
        self.ok("startvm", "vm1", "--type", "headless")  # an aborted VM starts again
        self.ok("controlvm", "vm1", "poweroff")
        self.ok("unregistervm", "vm1", "--delete")
        self.assertEqual(self.ok("list", "vms"), "")
        self.assertFalse(os.path.exists(disk))
        self.assertEqual(os.listdir(os.path.join(self.env["VBOXEMU_HOME"], "run")), [])
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "machines", "vm1")))

    def test_hostonly_nic_needs_its_interface(self):
        self.make_vm()
        self.ok("modifyvm", "vm1", "--memory", "32", "--nic2", "hostonly", "--hostonlyadapter2", "vboxnet7")
        err = self.fails(1, "startvm", "vm1", "--type", "headless")
        self.assertIn("Failed to open/create the internal network 'HostInterfaceNetworking-vboxnet7' "
                      "(VERR_INTNET_FLT_IF_NOT_FOUND)", err)
        self.assertEqual(self.state(), "poweroff")


if __name__ == "__main__":
    unittest.main(verbosity=2)
