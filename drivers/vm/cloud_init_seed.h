#pragma once
// The cloud-init NoCloud seed of a VM machine: meta-data, user-data and network-config
// rendered from checked values (pure functions), and the ISO 9660 image labelled "cidata"
// that carries them. Every value is untrusted and checked; YAML scalars are quoted.
#include "core/result.h"

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace dm::vm {

// The NIC on the machines' private network, configured statically.
struct StaticNic {
  std::string mac;     // how the guest finds the NIC, e.g. machine_mac(name)
  std::string address; // the machine's address, "192.168.56.2"
  std::string network; // the network it lies in, "192.168.56.1/21" (host bits allowed)
  std::string gateway; // "" for none (virtualbox host-only); else a host of network
  std::vector<std::string> nameservers; // IPv4 addresses, at most 3; may be empty
};

struct SeedSpec {
  std::string instance_id;    // stable for the machine's life; see new_instance_id()
  std::string hostname;       // RFC 1123 labels, at most 64 characters
  std::string user;           // the SSH user cloud-init creates, with passwordless sudo
  std::string ssh_public_key; // one OpenSSH public key line (a trailing newline is fine)
  StaticNic private_nic;
  std::string dhcp_nic_mac; // "" for none; else a NIC configured by DHCP (virtualbox NAT)
};

struct SeedDocuments {
  std::string meta_data;
  std::string user_data;
  std::string network_config;
};

// The file names inside the seed and its volume id, as cloud-init's NoCloud looks for them.
inline constexpr std::string_view k_seed_volume_id = "cidata";
inline constexpr std::string_view k_meta_data_name = "meta-data";
inline constexpr std::string_view k_user_data_name = "user-data";
inline constexpr std::string_view k_network_config_name = "network-config";
// The names cloud-init gives the NICs (set-name) in network-config.
inline constexpr std::string_view k_dhcp_nic_name = "dmnat0";
inline constexpr std::string_view k_private_nic_name = "dmlan0";

// Checks of untrusted values; each error is a usage error naming the value and the rule.
Result<void> check_hostname(std::string_view hostname);
Result<void> check_user_name(std::string_view user);
Result<void> check_instance_id(std::string_view id);
// The key as "type base64 [comment]": one line, a known type, base64 that decodes to a key
// blob of that type, a printable ASCII comment; one trailing newline is dropped.
Result<std::string> check_ssh_public_key(std::string_view key);

// "dmachine-" and 16 random hex digits; the caller stores it with the machine.
std::string new_instance_id();

// A YAML double-quoted scalar for text (\, " and control characters escaped).
std::string yaml_quote(std::string_view text);

// The three documents; each checks the values it uses.
Result<std::string> render_meta_data(const SeedSpec& spec);
Result<std::string> render_user_data(const SeedSpec& spec);
Result<std::string> render_network_config(const SeedSpec& spec);
Result<SeedDocuments> render_seed(const SeedSpec& spec);

// Renders the seed and writes it as an ISO 9660 image (Rock Ridge and Joliet names, volume
// id "cidata") to out, atomically and with mode 0600; out's directory must exist.
Result<void> write_seed_iso(const SeedSpec& spec, const std::filesystem::path& out);

} // namespace dm::vm
