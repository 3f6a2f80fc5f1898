#include "drivers/vm/cloud_init_seed.h"
#include "drivers/vm/static_ip.h"

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

namespace fs = std::filesystem;
using namespace dm;
using namespace dm::vm;

namespace {

constexpr const char* k_ed25519 =
    "ssh-ed25519 "
    "AAAAC3NzaC1lZDI1NTE5AAAAIMBDjYggNuDagEDedtadBTrN4FQDd6+EDp0TDmCOSj"
    "ci test@dmachine";
constexpr const char* k_ecdsa =
    "ecdsa-sha2-nistp256 "
    "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBIR2buOUJXEstBXwJEG/GZsCK0ykhcuBjN0782lb"
    "ZhzBr0/XoXj8+yTMd7NEqHxvwgbFx/9Wk1zXxgDXEAIo7nI=";

// virtualbox: NIC 1 NAT with DHCP, NIC 2 host-only with a static address.
SeedSpec virtualbox_spec() {
  SeedSpec spec;
  spec.instance_id = "dmachine-0123456789abcdef";
  spec.hostname = "vb1";
  spec.user = "docker";
  spec.ssh_public_key = std::string(k_ed25519) + "\n";
  spec.dhcp_nic_mac = "080027C0FFEE";
  spec.private_nic.mac = "52:54:00:12:34:56";
  spec.private_nic.address = "192.168.56.2";
  spec.private_nic.network = "192.168.56.0/21";
  return spec;
}

// qemu as root: one tap NIC with a gateway and a name server.
SeedSpec qemu_spec() {
  SeedSpec spec = virtualbox_spec();
  spec.hostname = "q1";
  spec.dhcp_nic_mac = "";
  spec.private_nic.address = "10.213.7.2";
  spec.private_nic.network = "10.213.7.1/24";
  spec.private_nic.gateway = "10.213.7.1";
  spec.private_nic.nameservers = {"10.213.7.1"};
  return spec;
}

template <typename T> std::string error_of(const Result<T>& result) {
  REQUIRE_FALSE(result);
  CHECK(result.error().kind == ErrorKind::usage);
  return result.error().message;
}

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Runs a shell command; its exit status (output goes to log).
int run(const std::string& command, const fs::path& log) {
  return std::system((command + " >" + log.string() + " 2>&1").c_str());
}

bool have_tool(const char* name) {
  return std::system((std::string("command -v ") + name + " >/dev/null 2>&1").c_str()) == 0;
}

struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "dm-seed-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

} // namespace

TEST_CASE("meta-data: instance-id and hostname", "[vm_seed]") {
  auto meta = render_meta_data(virtualbox_spec());
  REQUIRE(meta);
  CHECK(*meta == "instance-id: \"dmachine-0123456789abcdef\"\n"
                 "local-hostname: \"vb1\"\n");
  auto id = new_instance_id();
  CHECK(id.size() == 25);
  CHECK(check_instance_id(id));
  CHECK(id != new_instance_id());
}

TEST_CASE("user-data: the SSH user, its key, sudo, nothing from the network", "[vm_seed]") {
  auto user = render_user_data(virtualbox_spec());
  REQUIRE(user);
  CHECK(*user == "#cloud-config\n"
                 "users:\n"
                 "  - name: \"docker\"\n"
                 "    gecos: \"dmachine\"\n"
                 "    shell: \"/bin/bash\"\n"
                 "    lock_passwd: true\n"
                 "    no_user_group: true\n"
                 "    sudo: \"ALL=(ALL) NOPASSWD:ALL\"\n"
                 "    ssh_authorized_keys:\n"
                 "      - \"ssh-ed25519 "
                 "AAAAC3NzaC1lZDI1NTE5AAAAIMBDjYggNuDagEDedtadBTrN4FQDd6+EDp0TDmCOSjci "
                 "test@dmachine\"\n"
                 "disable_root: true\n"
                 "ssh_pwauth: false\n"
                 "ssh_genkeytypes: [\"ed25519\", \"ecdsa\"]\n"
                 "package_update: false\n"
                 "package_upgrade: false\n"
                 "package_reboot_if_required: false\n"
                 "manage_etc_hosts: true\n"
                 "preserve_hostname: false\n"
                 "cloud_init_modules:\n"
                 "  - \"growpart\"\n"
                 "  - \"resizefs\"\n"
                 "  - \"set_hostname\"\n"
                 "  - \"update_hostname\"\n"
                 "  - \"update_etc_hosts\"\n"
                 "  - \"users_groups\"\n"
                 "  - \"ssh\"\n"
                 "cloud_config_modules:\n"
                 "  - \"set_passwords\"\n"
                 "cloud_final_modules:\n"
                 "  - \"ssh_authkey_fingerprints\"\n"
                 "  - \"keys_to_console\"\n"
                 "  - \"final_message\"\n");
  // The document is YAML whose values are what was given.
  YAML::Node doc = YAML::Load(*user);
  CHECK(doc["users"][0]["name"].as<std::string>() == "docker");
  CHECK(doc["users"][0]["ssh_authorized_keys"][0].as<std::string>() == k_ed25519);
  CHECK(doc["ssh_pwauth"].as<bool>() == false);
  CHECK(doc["ssh_genkeytypes"].as<std::vector<std::string>>() ==
        std::vector<std::string>{"ed25519", "ecdsa"});
  CHECK(doc["package_update"].as<bool>() == false);
}

TEST_CASE("network-config: virtualbox NAT by DHCP and a static host-only NIC", "[vm_seed]") {
  auto network = render_network_config(virtualbox_spec());
  REQUIRE(network);
  CHECK(*network == "version: 2\n"
                    "ethernets:\n"
                    "  dmnat0:\n"
                    "    match:\n"
                    "      macaddress: \"08:00:27:c0:ff:ee\"\n"
                    "    set-name: \"dmnat0\"\n"
                    "    dhcp4: true\n"
                    "    dhcp6: false\n"
                    "  dmlan0:\n"
                    "    match:\n"
                    "      macaddress: \"52:54:00:12:34:56\"\n"
                    "    set-name: \"dmlan0\"\n"
                    "    dhcp4: false\n"
                    "    dhcp6: false\n"
                    "    addresses:\n"
                    "      - \"192.168.56.2/21\"\n");
  YAML::Node doc = YAML::Load(*network);
  // Quoted, so YAML 1.1 readers never take a MAC for a base-60 number.
  CHECK(doc["ethernets"]["dmlan0"]["match"]["macaddress"].as<std::string>() == "52:54:00:12:34:56");
}

TEST_CASE("network-config: qemu tap NIC with gateway and name server", "[vm_seed]") {
  auto network = render_network_config(qemu_spec());
  REQUIRE(network);
  CHECK(*network == "version: 2\n"
                    "ethernets:\n"
                    "  dmlan0:\n"
                    "    match:\n"
                    "      macaddress: \"52:54:00:12:34:56\"\n"
                    "    set-name: \"dmlan0\"\n"
                    "    dhcp4: false\n"
                    "    dhcp6: false\n"
                    "    addresses:\n"
                    "      - \"10.213.7.2/24\"\n"
                    "    gateway4: \"10.213.7.1\"\n"
                    "    nameservers:\n"
                    "      addresses:\n"
                    "        - \"10.213.7.1\"\n");
}

TEST_CASE("Hostnames: RFC 1123 labels only", "[vm_seed]") {
  for (const char* good : {"vb1", "a", "node-1.example", "1node", "A.b-2.C3"}) {
    INFO(good);
    CHECK(check_hostname(good));
  }
  CHECK(check_hostname(std::string(63, 'a')));
  CHECK_THAT(error_of(check_hostname("vb1\nruncmd: [reboot]")),
             Catch::Contains("hostname \"vb1\\nruncmd: [reboot]\": each dot-separated label"));
  for (const char* bad :
       {"", "-a", "a-", "a_b", "a..b", ".a", "a.", "a b", "a\"b", "a:b", "é", "a\tb"}) {
    INFO(bad);
    CHECK_FALSE(check_hostname(bad));
  }
  CHECK_FALSE(check_hostname(std::string(64, 'a')));                              // label > 63
  CHECK_FALSE(check_hostname(std::string(40, 'a') + "." + std::string(30, 'b'))); // > 64
  CHECK_FALSE(check_hostname(std::string_view("a\0b", 3)));
  auto spec = virtualbox_spec();
  spec.hostname = "bad\nhost";
  CHECK_THAT(error_of(render_meta_data(spec)), Catch::StartsWith("meta-data: hostname"));
}

TEST_CASE("User names: Linux rules, never root", "[vm_seed]") {
  for (const char* good : {"docker", "_svc", "ubuntu", "a-b_c9"}) {
    INFO(good);
    CHECK(check_user_name(good));
  }
  for (const char* bad :
       {"", "Docker", "9user", "-x", "a b", "a:b", "a\nb", "üser", "a$", "../x"}) {
    INFO(bad);
    CHECK_FALSE(check_user_name(bad));
  }
  CHECK_FALSE(check_user_name(std::string(33, 'a')));
  CHECK_THAT(error_of(check_user_name("root")), Catch::Contains("disables root logins"));
}

TEST_CASE("SSH public keys: one line, known type, real base64 key", "[vm_seed]") {
  CHECK(*check_ssh_public_key(k_ed25519) == k_ed25519);
  CHECK(*check_ssh_public_key(std::string(k_ed25519) + "\r\n") == k_ed25519);
  // ssh-keygen writes "type key " when the comment is empty.
  CHECK(*check_ssh_public_key(std::string(k_ecdsa) + " \n") == k_ecdsa);
  // A comment with YAML and shell syntax stays one quoted scalar.
  std::string odd = std::string(k_ecdsa) + " it's \"me\" # : {x} \\ $(id)";
  CHECK(*check_ssh_public_key(odd) == odd);
  auto spec = virtualbox_spec();
  spec.ssh_public_key = odd;
  YAML::Node doc = YAML::Load(*render_user_data(spec));
  CHECK(doc["users"][0]["ssh_authorized_keys"][0].as<std::string>() == odd);

  std::string key = k_ed25519;
  CHECK_THAT(error_of(check_ssh_public_key(key + "\n" + k_ecdsa)),
             Catch::Contains("must be one line (one key)"));
  CHECK_THAT(error_of(check_ssh_public_key(key + "\nssh_pwauth: true")),
             Catch::Contains("must be one line"));
  CHECK_THAT(error_of(check_ssh_public_key("command=\"sh\" " + key)),
             Catch::Contains("must start with a key type"));
  CHECK_THAT(error_of(check_ssh_public_key("ssh-rsa " + key.substr(12))),
             Catch::Contains("the base64 key is not a ssh-rsa key"));
  CHECK_THAT(error_of(check_ssh_public_key("ssh-ed25519 AAAA*bad= x")),
             Catch::Contains("not base64"));
  CHECK_THAT(error_of(check_ssh_public_key("ssh-dss AAAAB3NzaC1kc3MAAACBAP")),
             Catch::Contains("ssh-dss (DSA) keys are refused"));
  CHECK_THAT(error_of(check_ssh_public_key("ssh-ed25519")), Catch::Contains("no base64 key"));
  CHECK_THAT(error_of(check_ssh_public_key("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5")),
             Catch::Contains("the base64 ssh-ed25519 key is cut short"));
  CHECK_THAT(error_of(check_ssh_public_key(key + " bell\a")),
             Catch::Contains("no control characters"));
  for (const std::string& bad : {std::string(), std::string("\n"), key.substr(0, key.size() - 20),
                                 std::string("ssh-ed25519  ") + key.substr(12),
                                 std::string("ssh-ed25519\t") + key.substr(12),
                                 std::string("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5"),
                                 std::string("ssh-ed25519 ===="), std::string(20000, 'A')}) {
    INFO(bad);
    CHECK_FALSE(check_ssh_public_key(bad));
  }
  spec.ssh_public_key = key + "\n" + k_ecdsa;
  CHECK_THAT(error_of(render_user_data(spec)), Catch::StartsWith("user-data: SSH public key"));
}

TEST_CASE("network-config: hostile MACs and addresses are refused", "[vm_seed]") {
  auto spec = virtualbox_spec();
  spec.private_nic.mac = "52:54:00:12:34:56\n  dhcp4: true";
  CHECK_THAT(error_of(render_network_config(spec)),
             Catch::Contains("network-config: private NIC MAC \"52:54:00:12:34:56\\n  dhcp4: "
                             "true\": not a unicast MAC address"));
  spec = virtualbox_spec();
  spec.dhcp_nic_mac = "01:00:5e:00:00:01";
  CHECK_THAT(error_of(render_network_config(spec)), Catch::Contains("DHCP NIC MAC"));
  spec = virtualbox_spec();
  spec.dhcp_nic_mac = spec.private_nic.mac;
  CHECK_THAT(error_of(render_network_config(spec)), Catch::Contains("same MAC address"));

  spec = virtualbox_spec();
  spec.private_nic.address = "192.168.99.2";
  CHECK(error_of(render_network_config(spec)) ==
        "network-config: address \"192.168.99.2\": not a host address of 192.168.56.0/21 "
        "(outside it, or its network or broadcast address)");
  for (const char* bad :
       {"192.168.56.0", "192.168.63.255", "192.168.56.2/21", "192.168.56.2\n", ""}) {
    INFO(bad);
    spec.private_nic.address = bad;
    CHECK_FALSE(render_network_config(spec));
  }
  spec = virtualbox_spec();
  spec.private_nic.network = "192.168.56.0";
  CHECK_THAT(error_of(render_network_config(spec)), Catch::Contains("not an IPv4 network"));

  spec = qemu_spec();
  spec.private_nic.gateway = "10.213.8.1";
  CHECK_THAT(error_of(render_network_config(spec)), Catch::Contains("not another host address"));
  spec.private_nic.gateway = spec.private_nic.address;
  CHECK_FALSE(render_network_config(spec));
  spec = qemu_spec();
  spec.private_nic.nameservers = {"8.8.8.8\nx"};
  CHECK_THAT(error_of(render_network_config(spec)), Catch::Contains("name server"));
  spec.private_nic.nameservers = {"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"};
  CHECK_THAT(error_of(render_network_config(spec)), Catch::Contains("at most 3"));
  spec = virtualbox_spec();
  spec.private_nic.gateway = "192.168.56.1";
  CHECK_THAT(error_of(render_network_config(spec)), Catch::Contains("default route"));
}

TEST_CASE("yaml_quote escapes quotes, backslashes and control characters", "[vm_seed]") {
  CHECK(yaml_quote("a\"b\\c\nd\x7f") == "\"a\\\"b\\\\c\\x0ad\\x7f\"");
  for (const std::string& text : {std::string("plain"), std::string("- [x]: {y} # z"),
                                  std::string("'\"\\"), std::string("yes"), std::string("0x10"),
                                  std::string("a\tb\r\nc"), std::string("~"), std::string("")}) {
    INFO(text);
    CHECK(YAML::Load("k: " + yaml_quote(text))["k"].as<std::string>() == text);
  }
}

TEST_CASE("Seed ISO: volume cidata, three files read back byte for byte", "[vm_seed]") {
  TempDir dir;
  fs::path iso = dir.path / "seed.iso";
  auto spec = virtualbox_spec();
  REQUIRE(write_seed_iso(spec, iso));
  auto documents = render_seed(spec);
  REQUIRE(documents);

  struct stat st {};
  REQUIRE(::stat(iso.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);

  // The primary volume descriptor (sector 16) holds the volume id at offset 40, 32 bytes
  // padded with spaces: read without any ISO tool.
  std::string image = read_all(iso);
  REQUIRE(image.size() > 17 * 2048);
  CHECK(image.substr(16 * 2048, 6) == std::string("\x01"
                                                  "CD001",
                                                  6));
  CHECK(image.substr(16 * 2048 + 40, 32) == "cidata" + std::string(26, ' '));
  // A Joliet supplementary volume descriptor (type 2, escape "%/@", "%/C" or "%/E") follows.
  bool joliet_descriptor = false;
  for (size_t sector = 17; sector < 32 && (sector + 1) * 2048 <= image.size(); ++sector) {
    std::string descriptor = image.substr(sector * 2048, 2048);
    if (descriptor[0] == '\x02' && descriptor.substr(1, 5) == "CD001" &&
        descriptor.substr(88, 2) == "%/") {
      joliet_descriptor = true;
    }
    if (descriptor[0] == '\xff') {
      break;
    }
  }
  CHECK(joliet_descriptor);

  if (!have_tool("osirrox") || !have_tool("xorriso")) {
    WARN("skipped reading the ISO back: xorriso is not installed (scripts/install-deps.sh "
         "installs it)");
    return;
  }
  fs::path out = dir.path / "out";
  fs::path log = dir.path / "xorriso.log";
  REQUIRE(run("osirrox -indev " + iso.string() + " -extract / " + out.string(), log) == 0);
  INFO(read_all(log));
  // Rock Ridge names, exactly and only these.
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(out)) {
    names.insert(entry.path().filename().string());
  }
  CHECK(names == std::set<std::string>{"meta-data", "network-config", "user-data"});
  CHECK(read_all(out / "meta-data") == documents->meta_data);
  CHECK(read_all(out / "user-data") == documents->user_data);
  CHECK(read_all(out / "network-config") == documents->network_config);
  REQUIRE(run("xorriso -indev " + iso.string() + " -pvd_info", log) == 0);
  std::string pvd = read_all(log);
  CHECK_THAT(pvd, Catch::Contains("Volume Id    : cidata\n"));
  // Joliet names too (Windows and readers without Rock Ridge).
  REQUIRE(run("xorriso -read_fs norock -indev " + iso.string() + " -ls /", log) == 0);
  std::string joliet = read_all(log);
  CHECK_THAT(joliet, Catch::Contains("'meta-data'") && Catch::Contains("'user-data'") &&
                         Catch::Contains("'network-config'"));
  fs::permissions(out, fs::perms::owner_all, fs::perm_options::add);
}

TEST_CASE("Seed ISO: a hostile value writes no file", "[vm_seed]") {
  TempDir dir;
  fs::path iso = dir.path / "seed.iso";
  auto spec = virtualbox_spec();
  spec.user = "docker\n";
  auto written = write_seed_iso(spec, iso);
  REQUIRE_FALSE(written);
  CHECK_THAT(written.error().message, Catch::StartsWith("cloud-init seed: user-data: SSH user"));
  CHECK(fs::is_empty(dir.path));
  CHECK_FALSE(write_seed_iso(virtualbox_spec(), dir.path / "missing" / "seed.iso"));
  CHECK(fs::is_empty(dir.path));
}
