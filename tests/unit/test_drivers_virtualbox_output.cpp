#include "drivers/virtualbox/vbox_manage.h"
#include "drivers/virtualbox/vbox_output.h"
#include "tests/fakes/recording_process_runner.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

using namespace dm::virtualbox;

namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(DM_FIXTURES_DIR) + "/virtualbox/" + name);
  REQUIRE(in);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

} // namespace

TEST_CASE("virtualbox: showvminfo --machinereadable of a real VirtualBox 5.2 VM",
          "[virtualbox]") {
  auto info = parse_machine_readable(fixture("showvminfo-vbox52-windows.txt"));
  CHECK(info.at("name") == "Sailfish OS Build Engine");
  CHECK(info.at("VMState") == "poweroff");
  CHECK(info.at("memory") == "8192");
  CHECK(info.at("cpus") == "6");
  // Escaped backslashes are undone; 5.2's unescaped ones are kept as they are.
  CHECK(info.at("CfgFile") ==
        "C:\\SailfishOS\\mersdk\\Sailfish OS Build Engine\\Sailfish OS Build Engine.vbox");
  CHECK(info.at("SATA-1-0") == "C:\\SailfishOS\\mersdk\\mer.vdi");
  CHECK(info.at("SATA-ImageUUID-1-0") == "9d8a6b7b-118a-4657-9d69-656ab6f3967f");
  CHECK(info.at("Forwarding(0)") == "guestssh,tcp,127.0.0.1,2222,,22");
  CHECK(info.at("macaddress1") == "080027F21001");
  CHECK(info.at("teleporteraddress").empty());
  CHECK(info.at("videocapopts") == "ac_enabled=false"); // unquoted value with '='
  CHECK(vm_state(info) == dm::MachineState::stopped);
}

TEST_CASE("virtualbox: docker-machine's showvminfo excerpts", "[virtualbox]") {
  auto info = parse_machine_readable(fixture("showvminfo-dm-vminfo.txt"));
  CHECK(info.at("cpus") == "2");
  CHECK(info.at("memory") == "1024");
  CHECK(info.at("SATA-1-0") == "/home/ehazlett/vm/test/disk.vmdk");
  CHECK(info.at("nic1") == "nat");
  CHECK(vm_state(info) == dm::MachineState::none);

  auto hostonly = parse_machine_readable(
      "unrelatedfield=whatever\nhostonlyadapter2=\"vboxnet1\"\nmacaddress2=\"004488AABBCC\"\n");
  CHECK(hostonly.at("hostonlyadapter2") == "vboxnet1");

  auto vbox7 = parse_machine_readable(fixture("showvminfo-vbox7-hostonlynet.txt"));
  CHECK(vbox7.at("hostonly-network2") == "vagrantnet-vbox1");
  CHECK(vbox7.at("nic2") == "hostonlynetwork");
  CHECK(vbox7.at("Forwarding(0)") == "ssh,tcp,127.0.0.1,2222,,22");
}

TEST_CASE("virtualbox: VMState mapped as docker-machine maps it", "[virtualbox]") {
  struct Case {
    const char* line;
    dm::MachineState state;
  };
  for (const auto& c : {Case{"VMState=\"running\"", dm::MachineState::running},
                        Case{"VMState=\"paused\"", dm::MachineState::paused},
                        Case{"VMState=\"saved\"", dm::MachineState::saved},
                        Case{"VMState=\"poweroff\"", dm::MachineState::stopped},
                        Case{"VMState=\"aborted\"", dm::MachineState::stopped},
                        Case{"VMState=\"whatever\"", dm::MachineState::none},
                        Case{"VMState=", dm::MachineState::none},
                        Case{"", dm::MachineState::none}}) {
    INFO(c.line);
    CHECK(vm_state(parse_machine_readable(c.line)) == c.state);
  }
  CHECK(is_machine_not_found(
      "VBoxManage: error: Could not find a registered machine named 'unknown'\n"));
  CHECK_FALSE(is_machine_not_found("VBoxManage: error: The object is not ready"));
}

TEST_CASE("virtualbox: hostile machine-readable lines are skipped", "[virtualbox]") {
  auto info = parse_machine_readable("=x\n\"unterminated=\"y\"\nname=\"a\\\"b\\\\c\"\n"
                                     "VMState=\"running\nother=\"1\"\n\"k=v\"=\"w\"\n");
  CHECK(info.count("") == 0);
  CHECK(info.at("name") == "a\"b\\c");
  CHECK(info.count("VMState") == 0); // the quote never closes
  CHECK(info.at("k=v") == "w");
}

TEST_CASE("virtualbox: list hostonlyifs as docker-machine captured it", "[virtualbox]") {
  auto one = parse_hostonly_ifs(fixture("hostonlyifs-one.txt"));
  REQUIRE(one);
  REQUIRE(one->size() == 1);
  CHECK(one->at(0).name == "vboxnet0");
  CHECK(one->at(0).ip == "192.168.99.1");
  CHECK(one->at(0).netmask == "255.255.255.0");
  CHECK_FALSE(one->at(0).dhcp);
  CHECK(one->at(0).status == "Up");
  CHECK(one->at(0).network_name == "HostInterfaceNetworking-vboxnet0");

  auto two = parse_hostonly_ifs(fixture("hostonlyifs-two.txt"));
  REQUIRE(two);
  REQUIRE(two->size() == 2);
  CHECK(two->at(1).name == "vboxnet1");
  CHECK(two->at(1).ip == "169.254.37.187");

  auto empty = parse_hostonly_ifs("");
  REQUIRE(empty);
  CHECK(empty->empty());

  auto same_ip = parse_hostonly_ifs("Name:            vboxnet0\nIPAddress:       192.168.99.1\n"
                                    "VBoxNetworkName: HostInterfaceNetworking-vboxnet0\n"
                                    "Name:            vboxnet1\nIPAddress:       192.168.99.1\n"
                                    "VBoxNetworkName: HostInterfaceNetworking-vboxnet1");
  REQUIRE_FALSE(same_ip);
  CHECK(same_ip.error().message == "VirtualBox is configured with multiple host-only adapters "
                                   "with the same IP \"192.168.99.1\". Please remove one");
  auto same_name = parse_hostonly_ifs("Name: vboxnet0\nIPAddress: 192.168.99.1\n"
                                      "Name: vboxnet0\nIPAddress: 192.168.99.2\n");
  REQUIRE_FALSE(same_name);
  CHECK(same_name.error().message.find("the same name \"vboxnet0\"") != std::string::npos);
}

TEST_CASE("virtualbox: list hostonlynets (VirtualBox 7) and dhcpservers", "[virtualbox]") {
  auto nets = parse_hostonly_nets(fixture("hostonlynets-two.txt"));
  REQUIRE(nets.size() == 2);
  CHECK(nets[0].name == "vagrantnet-vbox1");
  CHECK(nets[0].enabled); // the blank line after GUID does not end the record
  CHECK(nets[0].netmask == "255.255.255.0");
  CHECK(nets[0].lower_ip == "192.168.61.0");
  CHECK(nets[1].network_name == "hostonly-vagrantnet-vbox2");

  auto servers = parse_dhcp_servers(fixture("dhcpservers-two.txt"));
  REQUIRE(servers.size() == 2);
  CHECK(servers[0].network_name == "HostInterfaceNetworking-vboxnet0");
  CHECK(servers[0].ip == "192.168.99.6");
  CHECK(servers[0].lower_ip == "192.168.99.100");
  CHECK(servers[0].upper_ip == "192.168.99.254");
  CHECK(servers[0].enabled);
  CHECK_FALSE(servers[1].enabled);
}

TEST_CASE("virtualbox: hostonlyif create names its interface", "[virtualbox]") {
  CHECK(parse_created_interface("0%...10%...100%\nInterface 'vboxnet1' was successfully "
                                "created\n") == "vboxnet1");
  CHECK(parse_created_interface("Interface 'VirtualBox Host-Only Ethernet Adapter' was "
                                "successfully created") ==
        "VirtualBox Host-Only Ethernet Adapter");
  CHECK_FALSE(parse_created_interface("Interface '' was successfully created"));
  CHECK_FALSE(parse_created_interface("error: Failed to create the host-only adapter"));
}

TEST_CASE("virtualbox: VBoxManage --version, 6.1 or later", "[virtualbox]") {
  auto v7 = parse_version("7.0.20r163906\n");
  REQUIRE(v7);
  CHECK(v7->major == 7);
  CHECK(v7->minor == 0);
  CHECK(check_version(*v7));
  // The kernel-module warning comes before the version.
  auto warned = parse_version("WARNING: The vboxdrv kernel module is not loaded. ...\n"
                              "         available for the current kernel (6.1.0-13-amd64).\n"
                              "6.1.50r161033\n\n");
  REQUIRE(warned);
  CHECK(warned->text == "6.1.50r161033");
  CHECK(check_version(*warned));
  // docker-machine's accepted versions are too old now; its refused ones too.
  for (const char* old : {"5.1", "5.0.8r103449", "5.0", "4.10", "4.3.1", "6.0.24r139119",
                          "4.2.36-104064", "3.9"}) {
    INFO(old);
    auto version = parse_version(old);
    REQUIRE(version);
    auto checked = check_version(*version);
    REQUIRE_FALSE(checked);
    CHECK(checked.error().kind == dm::ErrorKind::precreate);
    CHECK(checked.error().message ==
          std::string("VirtualBox ") + old +
              " is too old: the virtualbox driver needs VirtualBox 6.1 or later; upgrade at "
              "https://www.virtualbox.org");
  }
  for (const char* bad : {"X.Y", "", "7", "7.", ".1"}) {
    INFO(bad);
    auto version = parse_version(bad);
    REQUIRE_FALSE(version);
    CHECK(version.error().kind == dm::ErrorKind::precreate);
  }
  CHECK(use_hostonly_networks(*v7, HostOs::macos));
  CHECK_FALSE(use_hostonly_networks(*v7, HostOs::linux_or_windows));
  CHECK_FALSE(use_hostonly_networks(*warned, HostOs::macos));
}

TEST_CASE("virtualbox: VT-x checks of the CPU and of VBox.log", "[virtualbox]") {
  CHECK(cpu_has_virtualization("processor\t: 0\nflags\t\t: fpu vme de pse vmx ssse3\n"));
  CHECK(cpu_has_virtualization("flags\t\t: fpu svm\n"));
  CHECK_FALSE(cpu_has_virtualization("flags\t\t: fpu vme vmxx svm2\n"));
  CHECK_FALSE(cpu_has_virtualization(""));
  // docker-machine's vtx_test.go cases.
  CHECK_FALSE(log_says_vtx_disabled(""));
  CHECK_FALSE(log_says_vtx_disabled(
      "Falling back to raw-mode: VT-x is disabled in the BIOS for all CPU modes"));
  CHECK_FALSE(log_says_vtx_disabled("HM: HMR3Init: Falling back to raw-mode: VT-x is not available"));
  CHECK(log_says_vtx_disabled("VT-x is disabled"));
  CHECK(log_says_vtx_disabled("the host CPU does NOT support HW virtualization"));
  CHECK(log_says_vtx_disabled("VERR_VMX_UNABLE_TO_START_VM"));
  CHECK(log_says_vtx_disabled("00:00:00.318604 Power up failed (vrc=VERR_VMX_NO_VMX, "
                              "rc=NS_ERROR_FAILURE (0X80004005))"));
}

TEST_CASE("virtualbox: share folders and MAC addresses", "[virtualbox]") {
  // docker-machine's parseShareFolder cases.
  CHECK(parse_share_folder("dir:name").dir == "dir");
  CHECK(parse_share_folder("dir:name").name == "name");
  CHECK(parse_share_folder("C:\\dir:name").dir == "C:\\dir");
  CHECK(parse_share_folder("C:\\:name").dir == "C:\\");
  CHECK(parse_share_folder("nocolon").dir.empty());
  CHECK(vbox_mac("52:54:00:ab:cd:ef") == "525400ABCDEF");
}

TEST_CASE("virtualbox: VBoxManage is found on PATH, then VBOX_MSI_INSTALL_PATH",
          "[virtualbox]") {
  std::vector<std::string> present;
  auto exists = [&](const std::filesystem::path& path) {
    return std::find(present.begin(), present.end(), path.string()) != present.end();
  };
  CHECK_FALSE(find_vboxmanage("/usr/bin:/bin", "", "", exists));
  present = {"/opt/vbox/VBoxManage"};
  CHECK(find_vboxmanage("/usr/bin:/bin", "/opt/vbox", "", exists) == "/opt/vbox/VBoxManage");
  CHECK(find_vboxmanage("/usr/bin", "", "/opt/vbox", exists) == "/opt/vbox/VBoxManage");
  present.push_back("/bin/VBoxManage");
  CHECK(find_vboxmanage("/usr/bin:/bin", "/opt/vbox", "", exists) == "/bin/VBoxManage");
  // Relative and empty PATH entries are never used.
  present = {"VBoxManage", "bin/VBoxManage"};
  CHECK_FALSE(find_vboxmanage(":bin:", "", "", exists));
  auto missing = vboxmanage_missing_error();
  CHECK(missing.kind == dm::ErrorKind::precreate);
  CHECK(missing.message.find("VBoxManage not found") == 0);
}

TEST_CASE("virtualbox: VBoxManage runs retry 'not ready' and fail with its message",
          "[virtualbox]") {
  int not_ready = 2;
  dm::testing::RecordingProcessRunner runner([&](const std::vector<std::string>& argv) {
    dm::ProcessResult result;
    if (argv[1] == "startvm" && not_ready-- > 0) {
      result.exit_status = 1;
      result.err = "VBoxManage: error: The object is not ready\n";
    } else if (argv[1] == "bad") {
      result.exit_status = 1;
      result.err = "VBoxManage: error: Unknown command 'bad'\n";
    } else if (argv[1] == "quiet-error") {
      result.err = "VBoxManage: error: VT-x is not available (VERR_VMX_NO_VMX)\n";
    } else {
      result.out = "ok\n";
    }
    return result;
  });
  int slept = 0;
  VBoxManage vbm(runner, "/opt/vbox/VBoxManage", [&](int ms) { slept += ms; });
  auto started = vbm.run({"startvm", "vb1"});
  REQUIRE(started);
  CHECK(*started == "ok\n");
  CHECK(runner.argvs().size() == 3);
  CHECK(runner.argvs()[0][0] == "/opt/vbox/VBoxManage");
  CHECK(slept == 200);

  auto bad = vbm.run({"bad", "arg"});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message ==
        "VBoxManage bad arg failed (exit 1): VBoxManage: error: Unknown command 'bad'");
  // An "error:" on stderr is a failure even with exit 0 (docker-machine's observation).
  auto quiet = vbm.run({"quiet-error"});
  REQUIRE_FALSE(quiet);
  CHECK(quiet.error().message.find("VERR_VMX_NO_VMX") != std::string::npos);

  not_ready = 10;
  runner.clear();
  auto never = vbm.run({"startvm", "vb1"});
  REQUIRE_FALSE(never);
  CHECK(runner.argvs().size() == 5); // bounded
}
