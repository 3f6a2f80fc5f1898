#pragma once
// The files that make a host its own, written into its overlay's upper layer.
#include "core/result.h"

#include <filesystem>
#include <string>

namespace dm::local {

// Writes etc/hostname, etc/hosts, etc/resolv.conf and root's authorized_keys under upper.
Result<void> write_host_files(const std::filesystem::path& upper, const std::string& machine_name,
                              const std::string& public_key);
// Hides the image's boot-time start of docker and containerd (whiteouts in upper over
// lower), so that provisioning starts the engine once, configured.
Result<void> hold_engine_until_provisioned(const std::filesystem::path& upper,
                                           const std::filesystem::path& lower);
// Masks the image's systemd generators (links to /dev/null in upper): nothing on a local
// host needs them, and they run at boot and at every daemon-reload.
Result<void> mask_generators(const std::filesystem::path& upper, const std::filesystem::path& lower);
// This computer's resolv.conf, or systemd-resolved's upstream one when ours names only
// loopback servers; "nameserver 1.1.1.1" when there is none.
std::string resolv_conf();

} // namespace dm::local
