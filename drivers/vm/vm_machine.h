#pragma once
// What every VM driver (qemu, virtualbox) does the same way: the common flags parsed into
// VmOptions, the base image fetched into <store>/cache/images and its virtual size checked
// against the disk size, the machine's static IP allocated under a store-wide lock, the
// cloud-init seed written into the machine directory, and the common "Driver" record fields.
#include "core/driver.h"
#include "core/progress.h"
#include "core/result.h"
#include "drivers/vm/cloud_init_seed.h"
#include "drivers/vm/image_source.h"
#include "drivers/vm/static_ip.h"

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace dm::vm {

// Full flag names (without dashes) of the common values; drivers name some differently
// (--virtualbox-cpu-count, --virtualbox-hostonly-cidr), so they are data.
struct VmFlagNames {
  std::string image;          // "qemu-image"
  std::string image_checksum; // "qemu-image-checksum" (must be image + "-checksum")
  std::string memory;         // "qemu-memory" (MB)
  std::string cpus;           // "qemu-cpus"
  std::string disk_size;      // "qemu-disk-size" (MB)
  std::string network_cidr;   // "qemu-network-cidr"
};
// "<prefix>-image", "<prefix>-image-checksum", "<prefix>-memory", "<prefix>-cpus",
// "<prefix>-disk-size", "<prefix>-network-cidr".
VmFlagNames vm_flag_names(std::string_view prefix);

struct VmDefaults {
  long memory_mb = 1024;
  long cpus = 1;
  long disk_size_mb = 20000;
  std::string network_cidr; // e.g. "192.168.120.0/24"
};

// The DriverFlag rows of the common flags, with help texts, the defaults and env vars named
// after the flag ("qemu-disk-size" -> QEMU_DISK_SIZE).
std::vector<DriverFlag> vm_common_flags(const VmFlagNames& names, const VmDefaults& defaults);

// The common values of a create, checked (usage errors naming the flag).
struct VmOptions {
  std::string image_value;    // as given ("" = the default image)
  std::string checksum_value; // as given
  ImageSource image;
  long memory_mb = 1024;
  long cpus = 1;
  long disk_size_mb = 20000;
  Ipv4Network network;
};
// Memory 128..1048576 MB, 1..256 CPUs, disk 1..16777216 MB, a private network
// (parse_private_network); missing values take the defaults.
Result<VmOptions> parse_vm_options(const DriverOptions& options, const VmFlagNames& names,
                                   const VmDefaults& defaults);

// A disk image's format and virtual size, read from its first bytes.
enum class DiskFormat { raw, qcow2 };
std::string_view disk_format_name(DiskFormat format); // "raw" / "qcow2" (qemu's -F names)
struct DiskImageInfo {
  DiskFormat format = DiskFormat::raw;
  std::uint64_t virtual_size = 0; // bytes
};
// qcow2 (magic QFI\xfb, version 2 or 3, size at offset 24; one that names a backing file is
// refused: it would make the hypervisor open a host file the image chose), else raw with the
// file's size. Pure; header is at least the first 72 bytes when the file has them.
Result<DiskImageInfo> disk_image_info(std::string_view header, std::uint64_t file_size);
Result<DiskImageInfo> read_disk_image_info(const std::filesystem::path& path);
// A usage error naming the flag and both sizes when disk_size_mb MiB < virtual_size.
Result<void> check_disk_size(long disk_size_mb, std::uint64_t virtual_size,
                             std::string_view flag);

// The fetched base image: the verified cached copy, or the local file itself.
struct BaseImage {
  std::filesystem::path path;
  DiskImageInfo info;
};
// fetch_image into image_cache_dirs(store) with a VmProgress, then read_disk_image_info and
// check_disk_size (a too small disk is a usage error).
Result<BaseImage> fetch_base_image(const VmOptions& options, const VmFlagNames& names,
                                   const DriverContext& context);

// The machine's static address: the lowest host of network that no other machine of the store
// holds (record IPAddress or reservation file), chosen under the store lock "vm-ip" and written
// to <machine_dir>/ip-address before the lock is released, so parallel creates never share one.
Result<Ipv4Address> allocate_machine_ip(const DriverContext& context, const Ipv4Network& network,
                                        std::string_view flag);
inline constexpr std::string_view k_ip_reservation_file = "ip-address";

// The common fields of a VM machine's record. Name, store and machine paths always come from
// the DriverContext, never from the stored record.
struct VmMachine {
  std::string ip;
  std::string ssh_user = "docker";
  int ssh_port = 22;         // the port SSH answers on (a host forward's port for NAT access)
  std::string image;         // the --*-image value ("" = default)
  std::string image_checksum;
  std::string image_path;    // the base image used (cache entry or local file)
  std::string image_format;  // "qcow2" / "raw"
  long memory_mb = 0;
  long cpus = 0;
  long disk_size_mb = 0;
  std::string network_cidr;  // as Ipv4Network::to_string() with the host address: "a.b.c.1/24"
  std::string instance_id;   // cloud-init instance-id
  std::string mac;           // the private NIC's MAC
};
// {IPAddress, MachineName, SSHUser, SSHPort, SSHKeyPath, StorePath, SwarmMaster, SwarmHost,
//  SwarmDiscovery, Image, ImageChecksum, ImagePath, ImageFormat, Memory, CPUs, DiskSize,
//  NetworkCIDR, InstanceID, MACAddress}; the driver adds its own keys.
nlohmann::json vm_machine_json(const VmMachine& machine, const DriverContext& context);
// The same fields from a stored (type-checked) record; an error names a field whose value is
// invalid (a bad IP, MAC, CIDR, format, a relative image path...). An empty record is fine.
Result<VmMachine> read_vm_machine(const nlohmann::json& config);

// Fills ip (allocate_machine_ip), instance_id, mac (machine_mac of store path and name) and
// the option fields of machine from options and base, for create().
Result<void> init_vm_machine(VmMachine& machine, const VmOptions& options, const BaseImage& base,
                             const VmFlagNames& names, const DriverContext& context);

// Extra network settings of the seed: a gateway/nameservers for the private NIC, a DHCP NIC.
struct SeedNetwork {
  std::string gateway;
  std::vector<std::string> nameservers;
  std::string dhcp_nic_mac; // "" for none
};
// <machine_dir>/seed.iso: hostname = machine name, user ssh_user with the key of
// <machine_dir>/id_rsa.pub and passwordless sudo, the private NIC static at machine.ip.
Result<void> write_machine_seed(const VmMachine& machine, const SeedNetwork& network,
                                const DriverContext& context);
std::filesystem::path seed_path(const DriverContext& context);

// SSH to the machine: host/port given (the static IP and 22, or 127.0.0.1 and a forward),
// user ssh_user, key <machine_dir>/id_rsa.
SshTarget vm_ssh_target(const VmMachine& machine, const DriverContext& context,
                        const std::string& host, int port);

// Progress of the driver's own steps on stderr, inside create's "create machine" step: live
// lines on a terminal, else plain lines prefixed with the machine's name (clusters make
// several machines at once).
class VmProgress {
public:
  explicit VmProgress(const DriverContext& context);
  Progress& get() { return *m_progress; }

private:
  std::unique_ptr<Progress> m_progress;
};

} // namespace dm::vm
