#include "drivers/virtualbox/virtualbox_driver.h"

#include "core/machine_store.h"
#include "drivers/registry.h"
#include "tests/fakes/recording_http_client.h"
#include "tests/fakes/recording_process_runner.h"
#include "tests/fakes/temp_dir.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;
using dm::testing::TempDir;
using Argv = std::vector<std::string>;

namespace {

std::string fixture_text(const std::string& path) {
  std::ifstream in(std::string(DM_FIXTURES_DIR) + "/" + path);
  REQUIRE(in);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// VirtualBox as VBoxManage shows it: one VM, its state, the host-only interfaces.
struct FakeVirtualBox {
  std::string version = "7.0.20r163906\n";
  std::string name = "vb1";
  bool registered = false;
  std::string cfg_file;
  std::string state = "poweroff";
  std::string hostonlyifs;
  std::string dhcpservers;
  int running_polls_after_acpi = 0; // how many showvminfo calls still say running

  dm::ProcessResult operator()(const Argv& argv) {
    dm::ProcessResult result;
    Argv args(argv.begin() + 1, argv.end());
    const std::string& command = args.at(0);
    if (command == "--version") {
      result.out = version;
    } else if (command == "showvminfo") {
      if (!registered || args.at(1) != name) {
        result.exit_status = 1;
        result.err = "VBoxManage: error: Could not find a registered machine named '" +
                     args.at(1) + "'\n";
      } else {
        if (state == "stopping") {
          state = running_polls_after_acpi-- > 0 ? "stopping" : "poweroff";
        }
        result.out = "name=\"" + name + "\"\nCfgFile=\"" + cfg_file + "\"\nVMState=\"" +
                     (state == "stopping" ? "running" : state) + "\"\n";
      }
    } else if (command == "list" && args.at(1) == "hostonlyifs") {
      result.out = hostonlyifs;
    } else if (command == "list" && args.at(1) == "dhcpservers") {
      result.out = dhcpservers;
    } else if (command == "hostonlyif" && args.at(1) == "create") {
      result.out = "0%...10%...20%...30%...40%...50%...60%...70%...80%...90%...100%\n"
                   "Interface 'vboxnet1' was successfully created\n";
    } else if (command == "createvm") {
      registered = true;
    } else if (command == "startvm") {
      state = "running";
    } else if (command == "controlvm" && args.at(2) == "acpipowerbutton") {
      state = "stopping";
    } else if (command == "controlvm" && args.at(2) == "poweroff") {
      state = "poweroff";
    } else if (command == "controlvm" && args.at(2) == "resume") {
      state = "running";
    } else if (command == "unregistervm") {
      registered = false;
    } else if (command == "modifyvm" && args.size() > 3 && args.at(2) == "--natpf1" &&
               args.at(3) == "delete") {
      result.exit_status = 1;
      result.err = "VBoxManage: error: Code NS_ERROR_INVALID_ARG (0x80070057) - Invalid "
                   "argument value\n";
    }
    return result;
  }
};

struct VBoxSetup {
  TempDir dir{"dm-vbox"};
  fs::path machine_dir = dir.path() / "machines" / "vb1";
  fs::path image = dir.path() / "disk.raw";
  FakeVirtualBox vbox;
  dm::testing::RecordingProcessRunner runner;
  dm::testing::RecordingHttpClient http;
  dm::DriverContext context;
  std::string cpuinfo = "flags\t\t: fpu vmx sse2\n";
  bool vboxmanage_present = true;
  int slept_ms = 0;
  dm::virtualbox::HostOs os = dm::virtualbox::HostOs::linux_or_windows;

  VBoxSetup() {
    fs::create_directories(machine_dir);
    vbox.cfg_file = (machine_dir / "vb1" / "vb1.vbox").string();
    REQUIRE(dm::write_file_atomic(machine_dir / "id_rsa.pub",
                                  fixture_text("ssh-keys/ed25519.pub"), 0644));
    std::ofstream(image) << std::string(1 << 20, '\0');
    runner.set_handler([this](const Argv& argv) { return vbox(argv); });
    context.machine_name = "vb1";
    context.store_path = dir.path();
    context.machine_dir = machine_dir;
    context.process_runner = &runner;
    context.http_client = &http;
  }

  dm::VirtualBoxHost host() {
    dm::VirtualBoxHost host;
    host.find_vboxmanage = [this]() -> std::optional<fs::path> {
      if (!vboxmanage_present) {
        return std::nullopt;
      }
      return fs::path("/opt/vbox/VBoxManage");
    };
    host.read_cpuinfo = [this]() { return cpuinfo; };
    host.free_port = []() -> dm::Result<int> { return 40022; };
    host.sleep_ms = [this](int ms) { slept_ms += ms; };
    host.is_directory = [](const fs::path& path) { return path == "/home"; };
    host.os = os;
    return host;
  }

  std::unique_ptr<dm::Driver> driver(const nlohmann::json& config = nlohmann::json::object()) {
    return dm::make_virtualbox_driver_on(context, config, host());
  }

  dm::DriverOptions options(std::map<std::string, std::string> extra = {}) {
    dm::DriverOptions options;
    options.values["virtualbox-image"] = {image.string()};
    options.values["virtualbox-hostonly-cidr"] = {"192.168.58.1/24"};
    for (auto& [key, value] : extra) {
      options.values[key] = {value};
    }
    return options;
  }

  std::vector<std::string> lines() const { return runner.lines(); }
};

} // namespace

TEST_CASE("virtualbox: registered with docker-machine's flags and env vars", "[virtualbox]") {
  const dm::DriverEntry* entry = dm::find_driver("virtualbox");
  REQUIRE(entry != nullptr);
  std::map<std::string, dm::DriverFlag> flags;
  for (const auto& flag : entry->flags) {
    flags[flag.name] = flag;
  }
  CHECK(flags.at("virtualbox-memory").default_value == "1024");
  CHECK(flags.at("virtualbox-memory").env_var == "VIRTUALBOX_MEMORY_SIZE");
  CHECK(flags.at("virtualbox-cpu-count").default_value == "1");
  CHECK(flags.at("virtualbox-cpu-count").env_var == "VIRTUALBOX_CPU_COUNT");
  CHECK(flags.at("virtualbox-disk-size").default_value == "20000");
  CHECK(flags.at("virtualbox-disk-size").env_var == "VIRTUALBOX_DISK_SIZE");
  CHECK(flags.at("virtualbox-hostonly-cidr").default_value == "192.168.56.1/24");
  CHECK(flags.at("virtualbox-hostonly-cidr").env_var == "VIRTUALBOX_HOSTONLY_CIDR");
  CHECK(flags.at("virtualbox-boot2docker-url").env_var == "VIRTUALBOX_BOOT2DOCKER_URL");
  CHECK(flags.at("virtualbox-hostonly-nictype").env_var == "VIRTUALBOX_HOSTONLY_NIC_TYPE");
  CHECK(flags.at("virtualbox-hostonly-nicpromisc").default_value == "deny");
  CHECK(flags.at("virtualbox-no-vtx-check").type == dm::FlagType::boolean);
  CHECK(flags.at("virtualbox-share-folder").env_var == "VIRTUALBOX_SHARE_FOLDER");
  for (const char* name :
       {"virtualbox-image", "virtualbox-image-checksum", "virtualbox-hostonly-no-dhcp",
        "virtualbox-nat-nictype", "virtualbox-no-share", "virtualbox-no-dns-proxy",
        "virtualbox-host-dns-resolver", "virtualbox-ui-type"}) {
    INFO(name);
    CHECK(flags.count(name) == 1);
  }
}

TEST_CASE("virtualbox: create runs docker-machine's VBoxManage sequence", "[virtualbox]") {
  VBoxSetup setup;
  auto driver = setup.driver();
  REQUIRE(driver->set_options(setup.options()));
  REQUIRE(driver->pre_create_check());
  CHECK(setup.lines() == std::vector<std::string>{"--version", "showvminfo vb1 --machinereadable",
                                                  "list hostonlyifs"});
  setup.runner.clear();
  auto created = driver->create();
  INFO((created ? "" : created.error().message));
  REQUIRE(created);

  auto config = driver->config();
  const std::string ip = config["IPAddress"];
  CHECK(ip == "192.168.58.2");
  const std::string mac = config["MACAddress"];
  const std::string nat_mac = config["NATMACAddress"];
  auto vbox_mac = [](std::string text) {
    std::string out;
    for (char c : text) {
      if (c != ':') {
        out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      }
    }
    return out;
  };
  const std::string dir = setup.machine_dir.string();
  const std::vector<std::string> expected = {
      "convertfromraw " + setup.image.string() + " " + dir + "/disk.vdi --format VDI",
      "modifymedium disk " + dir + "/disk.vdi --resize 20000",
      "createvm --basefolder " + dir + " --name vb1 --register",
      "modifyvm vb1 --firmware bios --bioslogofadein off --bioslogofadeout off "
      "--bioslogodisplaytime 0 --biosbootmenu disabled --ostype Debian_64 --cpus 1 --memory "
      "1024 --acpi on --ioapic on --rtcuseutc on --natdnshostresolver1 off --natdnsproxy1 on "
      "--cpuhotplug off --pae on --hpet on --hwvirtex on --nestedpaging on --largepages on "
      "--vtxvpid on --boot1 disk --boot2 dvd --boot3 none --boot4 none",
      "modifyvm vb1 --nic1 nat --nictype1 virtio --cableconnected1 on --macaddress1 " +
          vbox_mac(nat_mac),
      "storagectl vb1 --name IDE --add ide --controller PIIX4 --hostiocache on",
      "storageattach vb1 --storagectl IDE --port 0 --device 0 --type hdd --medium " + dir +
          "/disk.vdi",
      "storageattach vb1 --storagectl IDE --port 1 --device 0 --type dvddrive --medium " + dir +
          "/seed.iso",
      "sharedfolder add vb1 --name hosthome --hostpath /home --automount",
      "setextradata vb1 VBoxInternal2/SharedFoldersEnableSymlinksCreate/hosthome 1",
      // start()
      "showvminfo vb1 --machinereadable",
      "list hostonlyifs",
      "hostonlyif create",
      "hostonlyif ipconfig vboxnet1 --ip 192.168.58.1 --netmask 255.255.255.0",
      "modifyvm vb1 --nic2 hostonly --nictype2 virtio --nicpromisc2 deny --hostonlyadapter2 "
      "vboxnet1 --cableconnected2 on --macaddress2 " +
          vbox_mac(mac),
      "modifyvm vb1 --natpf1 delete ssh",
      "modifyvm vb1 --natpf1 ssh,tcp,127.0.0.1,40022,,22",
      "startvm vb1 --type headless",
  };
  CHECK(setup.lines() == expected);
  CHECK(setup.runner.argvs().front().front() == "/opt/vbox/VBoxManage");
  CHECK(fs::exists(setup.machine_dir / "seed.iso"));
  CHECK(config["HostOnlyAdapter"] == "vboxnet1");
  CHECK(config["SSHForwardPort"] == 40022);
  CHECK(mac.rfind("52:54:00:", 0) == 0);
  CHECK(nat_mac != mac);

  auto target = driver->ssh_target();
  REQUIRE(target);
  CHECK(target->host == "192.168.58.2");
  CHECK(target->port == 22);
  CHECK(target->user == "docker");
  CHECK(*driver->ip() == "192.168.58.2");
  CHECK(driver->ssh_wait_seconds() >= 600);

  // The record written at create builds an equal driver in a later command.
  auto again = setup.driver(config);
  CHECK(again->config() == config);
  CHECK(*again->state() == dm::MachineState::running);
}

TEST_CASE("virtualbox: an existing host-only interface of the network is reused",
          "[virtualbox]") {
  VBoxSetup setup;
  setup.vbox.hostonlyifs = fixture_text("virtualbox/hostonlyifs-two.txt");
  setup.vbox.dhcpservers = fixture_text("virtualbox/dhcpservers-two.txt");
  auto driver = setup.driver();
  REQUIRE(driver->set_options(setup.options({{"virtualbox-hostonly-cidr", "192.168.56.1/24"},
                                             {"virtualbox-hostonly-no-dhcp", "true"},
                                             {"virtualbox-no-share", "true"},
                                             {"virtualbox-memory", "512"},
                                             {"virtualbox-cpu-count", "2"},
                                             {"virtualbox-no-dns-proxy", "true"},
                                             {"virtualbox-host-dns-resolver", "true"}})));
  // The fixture's vboxnet0 is 192.168.99.1: outside the allowed range, so not ours to reuse;
  // give it our network's address instead.
  setup.vbox.hostonlyifs.replace(setup.vbox.hostonlyifs.find("192.168.99.1"), 12, "192.168.56.1");
  REQUIRE(driver->pre_create_check());
  setup.runner.clear();
  REQUIRE(driver->create());
  auto lines = setup.lines();
  CHECK(std::count(lines.begin(), lines.end(), "hostonlyif create") == 0);
  CHECK(std::find(lines.begin(), lines.end(),
                  "dhcpserver modify --netname HostInterfaceNetworking-vboxnet0 --disable") !=
        lines.end());
  for (const auto& line : lines) {
    CHECK(line.find("sharedfolder") == std::string::npos);
    if (line.rfind("modifyvm vb1 --firmware", 0) == 0) {
      CHECK(line.find("--cpus 2 --memory 512") != std::string::npos);
      CHECK(line.find("--natdnshostresolver1 on --natdnsproxy1 off") != std::string::npos);
    }
  }
  CHECK(driver->config()["HostOnlyAdapter"] == "vboxnet0");
}

TEST_CASE("virtualbox: VirtualBox 7 on macOS attaches NIC 2 to a host-only network",
          "[virtualbox]") {
  VBoxSetup setup;
  setup.os = dm::virtualbox::HostOs::macos;
  auto driver = setup.driver();
  REQUIRE(driver->set_options(setup.options({{"virtualbox-no-share", "true"}})));
  REQUIRE(driver->pre_create_check());
  CHECK(setup.lines() == std::vector<std::string>{"--version", "showvminfo vb1 --machinereadable"});
  setup.runner.clear();
  REQUIRE(driver->create());
  auto lines = setup.lines();
  const std::string mac = driver->config()["MACAddress"];
  std::string vbox_mac;
  for (char c : mac) {
    if (c != ':') {
      vbox_mac += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
  }
  const std::vector<std::string> tail(lines.end() - 6, lines.end());
  CHECK(tail == std::vector<std::string>{
                    "list hostonlynets",
                    "hostonlynet add --name dmachine-192.168.58.0-24 --netmask 255.255.255.0 "
                    "--lower-ip 192.168.58.0 --upper-ip 192.168.58.0 --enable",
                    "modifyvm vb1 --nic2 hostonlynet --host-only-net2 dmachine-192.168.58.0-24 "
                    "--nictype2 virtio --nicpromisc2 deny --cableconnected2 on --macaddress2 " +
                        vbox_mac,
                    "modifyvm vb1 --natpf1 delete ssh",
                    "modifyvm vb1 --natpf1 ssh,tcp,127.0.0.1,40022,,22",
                    "startvm vb1 --type headless"});
  CHECK(driver->config()["HostOnlyNetworks"] == true);
}

TEST_CASE("virtualbox: stop, start, kill, restart and rm", "[virtualbox]") {
  VBoxSetup setup;
  auto driver = setup.driver();
  REQUIRE(driver->set_options(setup.options()));
  REQUIRE(driver->pre_create_check());
  REQUIRE(driver->create());
  auto record = setup.driver(driver->config());

  setup.runner.clear();
  setup.vbox.running_polls_after_acpi = 2;
  REQUIRE(record->stop());
  CHECK(setup.lines() == std::vector<std::string>{
                             "showvminfo vb1 --machinereadable", "controlvm vb1 acpipowerbutton",
                             "showvminfo vb1 --machinereadable", "showvminfo vb1 --machinereadable",
                             "showvminfo vb1 --machinereadable"});
  CHECK(setup.slept_ms == 2000);
  CHECK(*record->state() == dm::MachineState::stopped);

  setup.runner.clear();
  REQUIRE(record->start());
  CHECK(setup.lines().front() == "showvminfo vb1 --machinereadable");
  CHECK(setup.lines().back() == "startvm vb1 --type headless");
  CHECK(*record->ip() == "192.168.58.2"); // static: the same after a restart

  setup.runner.clear();
  REQUIRE(record->kill());
  CHECK(setup.lines() == std::vector<std::string>{"showvminfo vb1 --machinereadable",
                                                  "controlvm vb1 poweroff"});
  setup.runner.clear();
  REQUIRE(record->kill()); // already off: nothing to do
  CHECK(setup.lines() == std::vector<std::string>{"showvminfo vb1 --machinereadable"});

  // A saved VM is started as it is; a paused one resumed.
  setup.vbox.state = "saved";
  setup.runner.clear();
  REQUIRE(record->start());
  CHECK(setup.lines() == std::vector<std::string>{"showvminfo vb1 --machinereadable",
                                                  "startvm vb1 --type headless"});
  setup.vbox.state = "paused";
  setup.runner.clear();
  REQUIRE(record->start());
  CHECK(setup.lines() == std::vector<std::string>{"showvminfo vb1 --machinereadable",
                                                  "controlvm vb1 resume"});

  setup.runner.clear();
  REQUIRE(record->restart());
  CHECK(setup.lines().at(1) == "controlvm vb1 acpipowerbutton");
  CHECK(setup.lines().back() == "startvm vb1 --type headless");

  setup.runner.clear();
  REQUIRE(record->remove());
  CHECK(setup.lines() == std::vector<std::string>{"showvminfo vb1 --machinereadable",
                                                  "controlvm vb1 poweroff",
                                                  "unregistervm --delete vb1"});
  CHECK_FALSE(setup.vbox.registered);
  setup.runner.clear();
  REQUIRE(record->remove()); // nothing registered: nothing to do
  CHECK(setup.lines() == std::vector<std::string>{"showvminfo vb1 --machinereadable"});
  auto gone = record->state();
  REQUIRE_FALSE(gone);
  CHECK(gone.error().message.find("VirtualBox has no VM named \"vb1\"") == 0);
}

TEST_CASE("virtualbox: a stop that never ends is bounded", "[virtualbox]") {
  VBoxSetup setup;
  setup.vbox.registered = true;
  setup.vbox.state = "running";
  setup.vbox.running_polls_after_acpi = 1000000;
  auto driver = setup.driver();
  auto stopped = driver->stop();
  REQUIRE_FALSE(stopped);
  CHECK(stopped.error().kind == dm::ErrorKind::timeout);
  CHECK(stopped.error().message.find("`dmachine kill vb1`") != std::string::npos);
  CHECK(setup.slept_ms == 180000);
}

TEST_CASE("virtualbox: rm never touches another VM of the same name", "[virtualbox]") {
  VBoxSetup setup;
  setup.vbox.registered = true;
  setup.vbox.state = "running";
  setup.vbox.cfg_file = "/home/user/VirtualBox VMs/vb1/vb1.vbox";
  auto removed = setup.driver()->remove();
  REQUIRE_FALSE(removed);
  CHECK(removed.error().message.find("is not this machine's") != std::string::npos);
  CHECK(setup.lines() == std::vector<std::string>{"showvminfo vb1 --machinereadable"});
  // ... and create refuses to start when the name is taken.
  auto driver = setup.driver();
  REQUIRE(driver->set_options(setup.options()));
  auto checked = driver->pre_create_check();
  REQUIRE_FALSE(checked);
  CHECK(checked.error().kind == dm::ErrorKind::precreate);
  CHECK(checked.error().message.find("VirtualBox already has a VM named \"vb1\"") == 0);
}

TEST_CASE("virtualbox: pre-create checks refuse with exit 3 and a clear message",
          "[virtualbox]") {
  SECTION("VBoxManage missing") {
    VBoxSetup setup;
    setup.vboxmanage_present = false;
    auto driver = setup.driver();
    REQUIRE(driver->set_options(setup.options()));
    auto checked = driver->pre_create_check();
    REQUIRE_FALSE(checked);
    CHECK(checked.error().kind == dm::ErrorKind::precreate);
    CHECK(checked.error().message.find("VBoxManage not found") == 0);
    CHECK(setup.runner.argvs().empty());
  }
  SECTION("VirtualBox too old") {
    VBoxSetup setup;
    setup.vbox.version = "6.0.24r139119\n";
    auto driver = setup.driver();
    REQUIRE(driver->set_options(setup.options()));
    auto checked = driver->pre_create_check();
    REQUIRE_FALSE(checked);
    CHECK(checked.error().kind == dm::ErrorKind::precreate);
    CHECK(checked.error().message.find("VirtualBox 6.0.24r139119 is too old") == 0);
  }
  SECTION("no VT-x, unless the check is off") {
    VBoxSetup setup;
    setup.cpuinfo = "flags\t\t: fpu sse2\n";
    auto driver = setup.driver();
    REQUIRE(driver->set_options(setup.options()));
    auto checked = driver->pre_create_check();
    REQUIRE_FALSE(checked);
    CHECK(checked.error().message.find("VT-X/AMD-v") != std::string::npos);
    auto unchecked = setup.driver();
    REQUIRE(unchecked->set_options(setup.options({{"virtualbox-no-vtx-check", "true"}})));
    CHECK(unchecked->pre_create_check());
  }
  SECTION("a disk smaller than the image") {
    VBoxSetup setup;
    std::ofstream(setup.image, std::ios::app) << std::string(2 << 20, '\0'); // 3 MiB
    auto driver = setup.driver();
    REQUIRE(driver->set_options(setup.options({{"virtualbox-disk-size", "2"}})));
    auto checked = driver->pre_create_check();
    REQUIRE_FALSE(checked);
    CHECK(checked.error().message.find("--virtualbox-disk-size") != std::string::npos);
  }
}

TEST_CASE("virtualbox: bad flag values are usage errors naming the flag", "[virtualbox]") {
  VBoxSetup setup;
  struct Case {
    const char* flag;
    const char* value;
    const char* expected;
  };
  for (const auto& c :
       {Case{"virtualbox-hostonly-cidr", "192.168.99.1/24", "192.168.56.0/21"},
        Case{"virtualbox-hostonly-nictype", "e1000", "--virtualbox-hostonly-nictype"},
        Case{"virtualbox-nat-nictype", "x", "--virtualbox-nat-nictype"},
        Case{"virtualbox-hostonly-nicpromisc", "all", "--virtualbox-hostonly-nicpromisc"},
        Case{"virtualbox-ui-type", "vnc", "--virtualbox-ui-type"},
        Case{"virtualbox-share-folder", "relative:name", "--virtualbox-share-folder"},
        Case{"virtualbox-memory", "lots", "virtualbox-memory"}}) {
    INFO(c.flag);
    auto result = setup.driver()->set_options(setup.options({{c.flag, c.value}}));
    REQUIRE_FALSE(result);
    CHECK(result.error().message.find(c.expected) != std::string::npos);
  }
  // Without an image: Debian's genericcloud as a raw disk, checked against its SHA512SUMS.
  dm::DriverOptions no_image;
  auto defaulted = setup.driver();
  REQUIRE(defaulted->set_options(no_image));
  auto offline = defaulted->pre_create_check(); // the fake HTTP client answers nothing
  REQUIRE_FALSE(offline);
  CHECK(offline.error().message.find("debian-12-genericcloud-amd64.raw") != std::string::npos);
  REQUIRE_FALSE(setup.http.requests().empty());
  CHECK(setup.http.requests().front().url ==
        "https://cloud.debian.org/images/cloud/bookworm/latest/SHA512SUMS");
  // The old flag name is an alias of the image flag; -1 CPUs means all of them.
  auto options = setup.options({{"virtualbox-cpu-count", "-1"}});
  options.values.erase("virtualbox-image");
  options.values["virtualbox-boot2docker-url"] = {setup.image.string()};
  auto driver = setup.driver();
  REQUIRE(driver->set_options(options));
  REQUIRE(driver->pre_create_check());
  REQUIRE(driver->create());
  CHECK(driver->config()["Image"] == setup.image.string());
  CHECK(driver->config()["CPUs"].get<long>() >= 1);
}

TEST_CASE("virtualbox: a record with values VBoxManage must not see is refused",
          "[virtualbox]") {
  VBoxSetup setup;
  nlohmann::json config = {{"IPAddress", "192.168.58.2"}, {"UIType", "--type gui"}};
  auto driver = setup.driver(config);
  auto state = driver->start();
  REQUIRE_FALSE(state);
  CHECK(state.error().message.find("`dmachine rm -f vb1`") != std::string::npos);
  CHECK(setup.runner.argvs().empty());
}
