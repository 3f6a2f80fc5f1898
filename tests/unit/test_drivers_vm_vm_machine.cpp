#include "core/machine_store.h"
#include "drivers/vm/vm_machine.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <thread>

using namespace dm;
using namespace dm::vm;
namespace fs = std::filesystem;

namespace {

std::string qcow2_header(std::uint32_t version, std::uint64_t backing, std::uint64_t size) {
  std::string header(72, '\0');
  header.replace(0, 4, "QFI\xfb");
  auto put = [&](std::size_t offset, std::uint64_t value, int width) {
    for (int i = width - 1; i >= 0; --i) {
      header[offset + static_cast<std::size_t>(i)] = static_cast<char>(value & 0xff);
      value >>= 8;
    }
  };
  put(4, version, 4);
  put(8, backing, 8);
  put(24, size, 8);
  return header;
}

struct StoreDir {
  fs::path root;
  StoreDir() {
    std::string pattern = (fs::temp_directory_path() / "dm-vmm-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    root = pattern;
  }
  ~StoreDir() {
    std::error_code ignored;
    fs::remove_all(root, ignored);
  }
  DriverContext context(const std::string& name) const {
    DriverContext context;
    context.machine_name = name;
    context.store_path = root;
    context.machine_dir = root / "machines" / name;
    return context;
  }
};

DriverOptions options_of(std::map<std::string, std::vector<std::string>> values) {
  DriverOptions options;
  options.values = std::move(values);
  return options;
}

} // namespace

TEST_CASE("vm disk images: qcow2 header and raw size", "[vm_machine]") {
  auto info = disk_image_info(qcow2_header(3, 0, 2147483648ULL), 269680640);
  REQUIRE(info);
  CHECK(info->format == DiskFormat::qcow2);
  CHECK(info->virtual_size == 2147483648ULL);
  CHECK(disk_format_name(info->format) == "qcow2");
  info = disk_image_info(qcow2_header(2, 0, 1000), 500);
  REQUIRE(info);
  CHECK(info->virtual_size == 1000);

  auto raw = disk_image_info(std::string(72, 'x'), 4096);
  REQUIRE(raw);
  CHECK(raw->format == DiskFormat::raw);
  CHECK(raw->virtual_size == 4096);
  CHECK(disk_image_info("", 12)->virtual_size == 12);

  CHECK_FALSE(disk_image_info("", 0));
  CHECK_FALSE(disk_image_info(qcow2_header(3, 0, 0), 100));
  CHECK_FALSE(disk_image_info(qcow2_header(4, 0, 1000), 100));
  CHECK_FALSE(disk_image_info(qcow2_header(3, 0, 1000).substr(0, 20), 20));
  auto backing = disk_image_info(qcow2_header(3, 512, 1000), 2000);
  REQUIRE_FALSE(backing);
  CHECK(backing.error().message.find("backing file") != std::string::npos);
}

TEST_CASE("vm disk images: the disk must hold the image", "[vm_machine]") {
  CHECK(check_disk_size(2048, 2147483648ULL, "qemu-disk-size"));
  auto small = check_disk_size(1000, 2147483648ULL, "qemu-disk-size");
  REQUIRE_FALSE(small);
  CHECK(small.error().kind == ErrorKind::usage);
  CHECK(small.error().message ==
        "--qemu-disk-size: 1000 MB is smaller than the image (2048 MB); give at least 2048");
  CHECK_FALSE(check_disk_size(1, 1024 * 1024 + 1, "x"));
  CHECK(check_disk_size(1, 1024 * 1024, "x"));
}

TEST_CASE("vm options: defaults, limits and flag names", "[vm_machine]") {
  auto names = vm_flag_names("qemu");
  CHECK(names.image == "qemu-image");
  CHECK(names.image_checksum == "qemu-image-checksum");
  CHECK(names.network_cidr == "qemu-network-cidr");
  VmDefaults defaults{1024, 1, 20000, "192.168.120.0/24"};
  auto flags = vm_common_flags(names, defaults);
  REQUIRE(flags.size() == 6);
  CHECK(flags[4].name == "qemu-disk-size");
  CHECK(flags[4].env_var == "QEMU_DISK_SIZE");
  CHECK(flags[4].default_value == "20000");

  auto parsed = parse_vm_options(DriverOptions{}, names, defaults);
  REQUIRE(parsed);
  CHECK(parsed->memory_mb == 1024);
  CHECK(parsed->cpus == 1);
  CHECK(parsed->disk_size_mb == 20000);
  CHECK(parsed->network.to_string() == "192.168.120.0/24");
  CHECK(parsed->image.url == std::string(k_default_image_url));

  parsed = parse_vm_options(
      options_of({{"qemu-image", {"http://127.0.0.1:8000/disk.qcow2"}},
                  {"qemu-image-checksum", {"http://127.0.0.1:8000/SHA256SUMS"}},
                  {"qemu-memory", {"512"}},
                  {"qemu-cpus", {"2"}},
                  {"qemu-network-cidr", {"10.213.244.0/24"}}}),
      names, defaults);
  REQUIRE(parsed);
  CHECK(parsed->memory_mb == 512);
  CHECK(parsed->cpus == 2);
  CHECK(parsed->image.checksum.sums_url == "http://127.0.0.1:8000/SHA256SUMS");

  // -1: every CPU of this computer, as docker-machine's --virtualbox-cpu-count -1.
  parsed = parse_vm_options(options_of({{"qemu-cpus", {"-1"}}}), names, defaults);
  REQUIRE(parsed);
  CHECK(parsed->cpus == std::max(1L, static_cast<long>(std::thread::hardware_concurrency())));

  for (const auto& [flag, value] : std::vector<std::pair<std::string, std::string>>{
           {"qemu-memory", "12x"},
           {"qemu-memory", "64"},
           {"qemu-cpus", "0"},
           {"qemu-cpus", "-2"},
           {"qemu-disk-size", "99999999999999999999"},
           {"qemu-network-cidr", "127.0.0.0/8"},
           {"qemu-network-cidr", "10.0.0.0/31"},
           {"qemu-image", "http://127.0.0.1/x.qcow2"}}) {
    auto bad = parse_vm_options(options_of({{flag, {value}}}), names, defaults);
    INFO(flag << " " << value);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().kind == ErrorKind::usage);
    CHECK(bad.error().message.find("--" + flag) != std::string::npos);
  }
}

TEST_CASE("vm records: fields round-trip and bad values are refused", "[vm_machine]") {
  StoreDir store;
  auto context = store.context("m1");
  VmMachine machine;
  machine.ip = "10.213.244.2";
  machine.image_path = "/var/cache/x.qcow2";
  machine.image_format = "qcow2";
  machine.network_cidr = "10.213.244.1/24";
  machine.instance_id = new_instance_id();
  machine.mac = machine_mac("m1");
  auto json = vm_machine_json(machine, context);
  CHECK(json["SSHUser"] == "docker");
  CHECK(json["SSHKeyPath"] == (context.machine_dir / "id_rsa").string());
  CHECK(json["MachineName"] == "m1");
  auto back = read_vm_machine(json);
  REQUIRE(back);
  CHECK(back->ip == machine.ip);
  CHECK(back->mac == machine.mac);
  CHECK(back->instance_id == machine.instance_id);
  CHECK(read_vm_machine(nlohmann::json::object()));

  for (const auto& [key, value] : std::vector<std::pair<std::string, nlohmann::json>>{
           {"IPAddress", "10.0.0.300"},
           {"SSHPort", 0},
           {"SSHUser", "root;rm"},
           {"NetworkCIDR", "x"},
           {"MACAddress", "zz"},
           {"ImageFormat", "vmdk"},
           {"ImagePath", "relative.qcow2"},
           {"ImagePath", "/a/../etc/shadow"},
           {"ImagePath", "/a,b"},
           {"Memory", "lots"}}) {
    auto changed = json;
    changed[key] = value;
    INFO(key);
    CHECK_FALSE(read_vm_machine(changed));
  }
}

TEST_CASE("vm addresses: allocated under a lock, never twice", "[vm_machine]") {
  StoreDir store;
  REQUIRE(MachineStore(store.root).ensure_layout());
  auto network = parse_ipv4_network("10.213.244.0/24");
  REQUIRE(network);
  std::vector<std::string> got(6);
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    auto context = store.context("m" + std::to_string(i));
    REQUIRE(MachineStore(store.root).create_machine_dir(context.machine_name));
    threads.emplace_back([&got, context, network, i] {
      auto ip = allocate_machine_ip(context, *network, "--qemu-network-cidr");
      got[static_cast<std::size_t>(i)] = ip ? ip->to_string() : ip.error().message;
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  std::sort(got.begin(), got.end());
  CHECK(got == std::vector<std::string>{"10.213.244.2", "10.213.244.3", "10.213.244.4",
                                        "10.213.244.5", "10.213.244.6", "10.213.244.7"});
  // The same machine again keeps nothing of its own reservation in the way.
  auto again = allocate_machine_ip(store.context("m0"), *network, "--qemu-network-cidr");
  REQUIRE(again);
  CHECK(read_file(store.context("m0").machine_dir / k_ip_reservation_file).value() ==
        again->to_string() + "\n");
}
