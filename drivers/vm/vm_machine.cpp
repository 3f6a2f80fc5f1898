#include "drivers/vm/vm_machine.h"

#include "core/machine_record.h"
#include "core/machine_store.h"
#include "core/printable.h"
#include "core/progress.h"
#include "drivers/vm/image_cache.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fmt/format.h>
#include <fstream>
#include <iostream>
#include <system_error>
#include <thread>

namespace dm::vm {

namespace fs = std::filesystem;

namespace {

constexpr int k_ip_lock_timeout_seconds = 120;
constexpr std::uint64_t k_mib = 1024 * 1024;
constexpr std::string_view k_qcow2_magic = "QFI\xfb";

std::string env_name(const std::string& flag) {
  std::string name = flag;
  for (char& c : name) {
    c = c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return name;
}

Result<long> parse_bounded(const DriverOptions& options, const std::string& flag, long fallback,
                           long low, long high, std::string_view unit) {
  if (!options.has(flag) || options.get(flag).empty()) {
    return fallback;
  }
  const std::string text = options.get(flag);
  long value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < low || value > high) {
    return fail(ErrorKind::usage, fmt::format("--{}: \"{}\" is not a number of {} from {} to {}",
                                              flag, printable(text), unit, low, high));
  }
  return value;
}

std::uint64_t big_endian(std::string_view bytes, std::size_t offset, std::size_t width) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < width; ++i) {
    value = (value << 8) | static_cast<unsigned char>(bytes[offset + i]);
  }
  return value;
}

std::string read_small(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return text.size() > 64 ? std::string() : text;
}

} // namespace

VmFlagNames vm_flag_names(std::string_view prefix) {
  const std::string p(prefix);
  return {p + "-image",  p + "-image-checksum", p + "-memory",
          p + "-cpus",   p + "-disk-size",      p + "-network-cidr"};
}

std::vector<DriverFlag> vm_common_flags(const VmFlagNames& names, const VmDefaults& defaults) {
  auto row = [](const std::string& name, std::string help, std::string fallback, FlagType type) {
    return DriverFlag{name, std::move(help), std::move(fallback), env_name(name), type};
  };
  return {
      row(names.image,
          "Cloud image: an https/http URL (downloaded once into <store>/cache/images), a file:// "
          "URL or a path (default: Debian 12 genericcloud amd64, checked against its SHA512SUMS)",
          "", FlagType::string),
      row(names.image_checksum,
          "The image's checksum: sha256:<hex>, sha512:<hex>, or the URL or path of a SHA256SUMS / "
          "SHA512SUMS file (required for http:// images)",
          "", FlagType::string),
      row(names.memory, "Memory of the VM in MB", std::to_string(defaults.memory_mb),
          FlagType::integer),
      row(names.cpus, "Number of CPUs of the VM", std::to_string(defaults.cpus),
          FlagType::integer),
      row(names.disk_size, "Disk size of the VM in MB (at least the image's size)",
          std::to_string(defaults.disk_size_mb), FlagType::integer),
      row(names.network_cidr,
          "Private network of the VMs (host address/prefix); each machine gets a static address "
          "in it",
          defaults.network_cidr, FlagType::string),
  };
}

Result<VmOptions> parse_vm_options(const DriverOptions& options, const VmFlagNames& names,
                                   const VmDefaults& defaults) {
  VmOptions parsed;
  parsed.image_value = options.get(names.image);
  parsed.checksum_value = options.get(names.image_checksum);
  auto source = parse_image_source(parsed.image_value, parsed.checksum_value, "--" + names.image);
  DM_TRY(source);
  parsed.image = *source;
  auto memory = parse_bounded(options, names.memory, defaults.memory_mb, 128, 1048576, "MB");
  DM_TRY(memory);
  parsed.memory_mb = *memory;
  // -1: every CPU of this computer (docker-machine's --virtualbox-cpu-count -1).
  const bool all_cpus = options.get(names.cpus) == "-1";
  auto cpus = all_cpus ? Result<long>(std::clamp<long>(std::thread::hardware_concurrency(), 1, 256))
                       : parse_bounded(options, names.cpus, defaults.cpus, 1, 256, "CPUs");
  DM_TRY(cpus);
  parsed.cpus = *cpus;
  auto disk = parse_bounded(options, names.disk_size, defaults.disk_size_mb, 1, 16777216, "MB");
  DM_TRY(disk);
  parsed.disk_size_mb = *disk;
  auto network = parse_private_network(options.get(names.network_cidr, defaults.network_cidr),
                                       "--" + names.network_cidr);
  DM_TRY(network);
  parsed.network = *network;
  return parsed;
}

std::string_view disk_format_name(DiskFormat format) {
  return format == DiskFormat::qcow2 ? "qcow2" : "raw";
}

Result<DiskImageInfo> disk_image_info(std::string_view header, std::uint64_t file_size) {
  if (header.substr(0, k_qcow2_magic.size()) != k_qcow2_magic) {
    if (file_size == 0) {
      return fail("the image is empty");
    }
    return DiskImageInfo{DiskFormat::raw, file_size};
  }
  if (header.size() < 32) {
    return fail("the image is a truncated qcow2 file (its header is cut short)");
  }
  auto version = big_endian(header, 4, 4);
  if (version != 2 && version != 3) {
    return fail(fmt::format("the image is a qcow2 file of version {}, not 2 or 3", version));
  }
  if (big_endian(header, 8, 8) != 0) {
    return fail("the image is a qcow2 file that names a backing file; use a standalone image "
                "(qemu-img convert -O qcow2 in out)");
  }
  auto size = big_endian(header, 24, 8);
  if (size == 0) {
    return fail("the image is a qcow2 file with a virtual size of 0");
  }
  return DiskImageInfo{DiskFormat::qcow2, size};
}

Result<DiskImageInfo> read_disk_image_info(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail(fmt::format("cannot read the image {}", path.string()));
  }
  std::string header(72, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header.size()));
  header.resize(static_cast<std::size_t>(in.gcount()));
  std::error_code error;
  auto size = fs::file_size(path, error);
  if (error) {
    return fail(fmt::format("cannot read the size of {}: {}", path.string(), error.message()));
  }
  return disk_image_info(header, size);
}

Result<void> check_disk_size(long disk_size_mb, std::uint64_t virtual_size,
                             std::string_view flag) {
  if (disk_size_mb < 0 || static_cast<std::uint64_t>(disk_size_mb) * k_mib < virtual_size) {
    auto image_mb = (virtual_size + k_mib - 1) / k_mib;
    return fail(ErrorKind::usage,
                fmt::format("--{}: {} MB is smaller than the image ({} MB); give at least {}",
                            flag, disk_size_mb, image_mb, image_mb));
  }
  return {};
}

VmProgress::VmProgress(const DriverContext& context) {
  if (Progress* command = active_live_progress()) {
    m_progress = std::make_unique<Progress>(*command, "");
  } else {
    m_progress = std::make_unique<Progress>(std::cerr, ProgressStyle::plain,
                                            context.machine_name + ": ");
  }
}

Result<BaseImage> fetch_base_image(const VmOptions& options, const VmFlagNames& names,
                                   const DriverContext& context) {
  if (context.http_client == nullptr) {
    return fail("no HTTP client to fetch the image with");
  }
  VmProgress progress(context);
  auto path = fetch_image(options.image, image_cache_dirs(context.store_path),
                          *context.http_client, progress.get());
  DM_TRY(path);
  auto info = read_disk_image_info(*path);
  DM_TRY_CTX(info, options.image.display());
  DM_TRY(check_disk_size(options.disk_size_mb, info->virtual_size, names.disk_size));
  return BaseImage{*path, *info};
}

Result<Ipv4Address> allocate_machine_ip(const DriverContext& context, const Ipv4Network& network,
                                        std::string_view flag) {
  MachineStore store(context.store_path);
  auto lock = store.lock_named("vm-ip", k_ip_lock_timeout_seconds);
  DM_TRY_CTX(lock, "lock the store's VM addresses");
  auto names = store.list_names();
  DM_TRY(names);
  std::vector<std::string> used;
  for (const auto& name : *names) {
    if (name == context.machine_name) {
      continue;
    }
    auto reserved = read_small(store.machine_dir(name) / k_ip_reservation_file);
    while (!reserved.empty() && std::isspace(static_cast<unsigned char>(reserved.back())) != 0) {
      reserved.pop_back();
    }
    used.push_back(reserved);
    auto record = store.load(name);
    if (record && record->driver.is_object()) {
      auto found = record->driver.find("IPAddress");
      if (found != record->driver.end() && found->is_string()) {
        used.push_back(found->get<std::string>());
      }
    }
  }
  auto ip = next_free_address(network, used, flag);
  DM_TRY(ip);
  DM_TRY_CTX(write_file_atomic(context.machine_dir / k_ip_reservation_file, ip->to_string() + "\n",
                               0600),
             "reserve the machine's address");
  return *ip;
}

nlohmann::json vm_machine_json(const VmMachine& machine, const DriverContext& context) {
  return {{"IPAddress", machine.ip},
          {"MachineName", context.machine_name},
          {"SSHUser", machine.ssh_user},
          {"SSHPort", machine.ssh_port},
          {"SSHKeyPath", (context.machine_dir / "id_rsa").string()},
          {"StorePath", context.store_path.string()},
          {"SwarmMaster", false},
          {"SwarmHost", ""},
          {"SwarmDiscovery", ""},
          {"Image", machine.image},
          {"ImageChecksum", machine.image_checksum},
          {"ImagePath", machine.image_path},
          {"ImageFormat", machine.image_format},
          {"Memory", machine.memory_mb},
          {"CPUs", machine.cpus},
          {"DiskSize", machine.disk_size_mb},
          {"NetworkCIDR", machine.network_cidr},
          {"InstanceID", machine.instance_id},
          {"MACAddress", machine.mac}};
}

Result<VmMachine> read_vm_machine(const nlohmann::json& config) {
  VmMachine machine;
  if (!config.is_object() || config.empty()) {
    return machine;
  }
  try {
    machine.ip = config.value("IPAddress", "");
    machine.ssh_user = config.value("SSHUser", "docker");
    machine.ssh_port = config.value("SSHPort", 22);
    machine.image = config.value("Image", "");
    machine.image_checksum = config.value("ImageChecksum", "");
    machine.image_path = config.value("ImagePath", "");
    machine.image_format = config.value("ImageFormat", "");
    machine.memory_mb = config.value("Memory", 0L);
    machine.cpus = config.value("CPUs", 0L);
    machine.disk_size_mb = config.value("DiskSize", 0L);
    machine.network_cidr = config.value("NetworkCIDR", "");
    machine.instance_id = config.value("InstanceID", "");
    machine.mac = config.value("MACAddress", "");
  } catch (const nlohmann::json::exception& error) {
    return fail(fmt::format("a VM field has the wrong type ({})", error.what()));
  }
  if (!machine.ip.empty() && !parse_ipv4(machine.ip)) {
    return fail(fmt::format("the record's IPAddress {} is not an IPv4 address",
                            quoted_for_display(machine.ip)));
  }
  if (machine.ssh_port < 1 || machine.ssh_port > 65535) {
    return fail(fmt::format("the record's SSHPort {} is not a port", machine.ssh_port));
  }
  DM_TRY_CTX(check_user_name(machine.ssh_user), "the record's SSHUser");
  if (!machine.network_cidr.empty() && !parse_ipv4_network(machine.network_cidr)) {
    return fail(fmt::format("the record's NetworkCIDR {} is not a network",
                            quoted_for_display(machine.network_cidr)));
  }
  if (!machine.mac.empty() && normalize_mac(machine.mac) != machine.mac) {
    return fail(fmt::format("the record's MACAddress {} is not a MAC address",
                            quoted_for_display(machine.mac)));
  }
  if (!machine.instance_id.empty()) {
    DM_TRY_CTX(check_instance_id(machine.instance_id), "the record's InstanceID");
  }
  if (!machine.image_format.empty() && machine.image_format != "qcow2" &&
      machine.image_format != "raw") {
    return fail(fmt::format("the record's ImageFormat {} is not qcow2 or raw",
                            quoted_for_display(machine.image_format)));
  }
  fs::path image(machine.image_path);
  if (!machine.image_path.empty() &&
      (!image.is_absolute() || image.lexically_normal() != image ||
       machine.image_path.find_first_of(",\n\r") != std::string::npos)) {
    return fail(fmt::format("the record's ImagePath {} is not a plain absolute path",
                            quoted_for_display(machine.image_path)));
  }
  return machine;
}

Result<void> init_vm_machine(VmMachine& machine, const VmOptions& options, const BaseImage& base,
                             const VmFlagNames& names, const DriverContext& context) {
  auto ip = allocate_machine_ip(context, options.network, "--" + names.network_cidr);
  DM_TRY(ip);
  machine.ip = ip->to_string();
  machine.image = options.image_value;
  machine.image_checksum = options.checksum_value;
  machine.image_path = base.path.string();
  machine.image_format = std::string(disk_format_name(base.info.format));
  machine.memory_mb = options.memory_mb;
  machine.cpus = options.cpus;
  machine.disk_size_mb = options.disk_size_mb;
  Ipv4Network host = options.network;
  host.address = host_address(options.network);
  machine.network_cidr = host.address.to_string() + "/" + std::to_string(host.prefix);
  machine.instance_id = new_instance_id();
  machine.mac = machine_mac((context.store_path / context.machine_name).string());
  return {};
}

fs::path seed_path(const DriverContext& context) { return context.machine_dir / "seed.iso"; }

Result<void> write_machine_seed(const VmMachine& machine, const SeedNetwork& network,
                                const DriverContext& context) {
  auto key = read_file(context.machine_dir / "id_rsa.pub");
  DM_TRY_CTX(key, "read the machine's SSH key");
  SeedSpec spec;
  spec.instance_id = machine.instance_id;
  spec.hostname = context.machine_name;
  spec.user = machine.ssh_user;
  spec.ssh_public_key = *key;
  spec.private_nic.mac = machine.mac;
  spec.private_nic.address = machine.ip;
  spec.private_nic.network = machine.network_cidr;
  spec.private_nic.gateway = network.gateway;
  spec.private_nic.nameservers = network.nameservers;
  spec.dhcp_nic_mac = network.dhcp_nic_mac;
  DM_TRY_CTX(write_seed_iso(spec, seed_path(context)), "write the cloud-init seed");
  return {};
}

SshTarget vm_ssh_target(const VmMachine& machine, const DriverContext& context,
                        const std::string& host, int port) {
  SshTarget target;
  target.host = host;
  target.port = port;
  target.user = machine.ssh_user;
  target.key_path = context.machine_dir / "id_rsa";
  return target;
}

} // namespace dm::vm
