#include "drivers/vm/cloud_init_seed.h"

#include "core/machine_record.h"
#include "drivers/vm/iso_image.h"
#include "drivers/vm/static_ip.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <fmt/format.h>
#include <optional>
#include <random>

namespace dm::vm {

namespace {

constexpr size_t k_max_hostname = 64; // Linux's HOST_NAME_MAX
constexpr size_t k_max_label = 63;
constexpr size_t k_max_user = 32; // useradd's limit
constexpr size_t k_max_instance_id = 64;
constexpr size_t k_max_key_line = 16384;
constexpr size_t k_max_nameservers = 3; // resolv.conf reads three
constexpr size_t k_ed25519_key_bytes = 4 + 32;

// Key types sshd accepts in authorized_keys (OpenSSH 8.2 and later).
constexpr std::array<std::string_view, 7> k_key_types = {
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
};

// Modules cloud-init runs for a dmachine seed (they replace the image's lists): none of
// them reaches the network (no apt, ntp, ssh_import_id, phone_home, seed_random/pollinate).
constexpr std::array<std::string_view, 7> k_init_modules = {
    "growpart",         "resizefs",     "set_hostname", "update_hostname",
    "update_etc_hosts", "users_groups", "ssh"};
constexpr std::array<std::string_view, 1> k_config_modules = {"set_passwords"};
constexpr std::array<std::string_view, 3> k_final_modules = {"ssh_authkey_fingerprints",
                                                             "keys_to_console", "final_message"};

// The user's settings after its name, up to its key list. no_user_group (useradd -N): no
// group named after the user, so a user "docker" is made even where the docker.io
// package already made a group "docker" (plain useradd refuses that).
constexpr const char* k_user_settings = R"(    gecos: "dmachine"
    shell: "/bin/bash"
    lock_passwd: true
    no_user_group: true
    sudo: "ALL=(ALL) NOPASSWD:ALL"
    ssh_authorized_keys:
)";
// No password logins, no package updates, hostname and /etc/hosts from meta-data; no RSA host
// key (generating it took 24 s of a boot under TCG; dmachine pins ed25519 and ECDSA keys too).
constexpr const char* k_system_settings = R"(disable_root: true
ssh_pwauth: false
ssh_genkeytypes: ["ed25519", "ecdsa"]
package_update: false
package_upgrade: false
package_reboot_if_required: false
manage_etc_hosts: true
preserve_hostname: false
)";

// An untrusted value for a message: quoted, control characters escaped, cut at 80 bytes.
std::string shown(std::string_view text) {
  return quoted_for_display(std::string(text.substr(0, 80))) + (text.size() > 80 ? "..." : "");
}

tl::unexpected<Error> invalid(std::string_view what, std::string_view value,
                              std::string_view rule) {
  return fail(ErrorKind::usage, fmt::format("{} {}: {}", what, shown(value), rule));
}

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_label(std::string_view label) {
  if (label.empty() || label.size() > k_max_label || label.front() == '-' || label.back() == '-') {
    return false;
  }
  for (char c : label) {
    if (!is_alnum(c) && c != '-') {
      return false;
    }
  }
  return true;
}

// The bytes of strict base64 (padding only at the end, length a multiple of 4).
std::optional<std::string> decode_base64(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) {
    return std::nullopt;
  }
  auto value_of = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') {
      return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
      return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
      return c - '0' + 52;
    }
    return c == '+' ? 62 : c == '/' ? 63 : -1;
  };
  size_t padding = text.ends_with("==") ? 2 : text.ends_with('=') ? 1 : 0;
  std::string bytes;
  std::uint32_t bits = 0;
  for (size_t i = 0; i < text.size() - padding; ++i) {
    int value = value_of(text[i]);
    if (value < 0) {
      return std::nullopt;
    }
    bits = (bits << 6) | static_cast<std::uint32_t>(value);
    if (i % 4 == 3) {
      bytes += static_cast<char>((bits >> 16) & 0xff);
      bytes += static_cast<char>((bits >> 8) & 0xff);
      bytes += static_cast<char>(bits & 0xff);
      bits = 0;
    }
  }
  if (padding == 1) {
    bytes += static_cast<char>((bits >> 10) & 0xff);
    bytes += static_cast<char>((bits >> 2) & 0xff);
  } else if (padding == 2) {
    bytes += static_cast<char>((bits >> 4) & 0xff);
  }
  return bytes;
}

// The SSH wire-format string at the start of blob (uint32 length, bytes).
std::optional<std::string_view> leading_ssh_string(std::string_view blob) {
  if (blob.size() < 4) {
    return std::nullopt;
  }
  std::uint32_t length = 0;
  for (int i = 0; i < 4; ++i) {
    length = (length << 8) | static_cast<unsigned char>(blob[static_cast<size_t>(i)]);
  }
  if (length > blob.size() - 4) {
    return std::nullopt;
  }
  return blob.substr(4, length);
}

// Appends "<indent>- <quoted item>" lines.
template <typename List>
void append_list(std::string& out, std::string_view indent, const List& items) {
  for (const auto& item : items) {
    out += fmt::format("{}- {}\n", indent, yaml_quote(item));
  }
}

Result<Ipv4Address> checked_address(std::string_view what, std::string_view text) {
  auto address = parse_ipv4(text);
  if (!address) {
    return invalid(what, text, "not an IPv4 address such as 192.168.56.2");
  }
  return *address;
}

Result<std::string> checked_mac(std::string_view what, std::string_view text) {
  auto mac = normalize_mac(text);
  if (!mac) {
    return invalid(what, text,
                   "not a unicast MAC address such as 52:54:00:12:34:56 (six hex pairs)");
  }
  return *mac;
}

// The private NIC's values, checked against each other.
struct CheckedNic {
  std::string mac;
  std::string address_cidr; // "192.168.56.2/21"
  std::string gateway;      // "" for none
  std::vector<std::string> nameservers;
};

// dhcp_mac: the checked MAC of the DHCP NIC, "" when there is none.
Result<CheckedNic> check_static_nic(const StaticNic& nic, const std::string& dhcp_mac) {
  CheckedNic checked;
  auto mac = checked_mac("network-config: private NIC MAC", nic.mac);
  DM_TRY(mac);
  checked.mac = *mac;
  if (checked.mac == dhcp_mac) {
    return invalid("network-config: private NIC MAC", nic.mac,
                   "the DHCP NIC has the same MAC address");
  }
  auto network = parse_ipv4_network(nic.network);
  if (!network) {
    return invalid("network-config: network", nic.network,
                   "not an IPv4 network such as 192.168.56.1/21");
  }
  auto address = checked_address("network-config: address", nic.address);
  DM_TRY(address);
  if (!network->is_host(*address)) {
    return invalid("network-config: address", nic.address,
                   fmt::format("not a host address of {} (outside it, or its network or "
                               "broadcast address)",
                               network->to_string()));
  }
  checked.address_cidr = fmt::format("{}/{}", address->to_string(), network->prefix);
  if (!nic.gateway.empty()) {
    if (!dhcp_mac.empty()) {
      return invalid("network-config: gateway", nic.gateway,
                     "the DHCP NIC already brings the default route; leave the gateway empty");
    }
    auto gateway = checked_address("network-config: gateway", nic.gateway);
    DM_TRY(gateway);
    if (!network->is_host(*gateway) || *gateway == *address) {
      return invalid("network-config: gateway", nic.gateway,
                     fmt::format("not another host address of {}", network->to_string()));
    }
    checked.gateway = gateway->to_string();
  }
  if (nic.nameservers.size() > k_max_nameservers) {
    return fail(ErrorKind::usage, fmt::format("network-config: {} name servers; at most {}",
                                              nic.nameservers.size(), k_max_nameservers));
  }
  for (const auto& server : nic.nameservers) {
    auto parsed = checked_address("network-config: name server", server);
    DM_TRY(parsed);
    checked.nameservers.push_back(parsed->to_string());
  }
  return checked;
}

} // namespace

Result<void> check_hostname(std::string_view hostname) {
  static constexpr std::string_view what = "hostname";
  if (hostname.empty() || hostname.size() > k_max_hostname) {
    return invalid(what, hostname, fmt::format("must have 1 to {} characters", k_max_hostname));
  }
  size_t start = 0;
  for (;;) {
    size_t dot = hostname.find('.', start);
    if (!is_label(hostname.substr(start, dot == std::string_view::npos ? dot : dot - start))) {
      return invalid(what, hostname,
                     "each dot-separated label must be 1 to 63 letters, digits or '-', not "
                     "starting or ending with '-' (RFC 1123)");
    }
    if (dot == std::string_view::npos) {
      return {};
    }
    start = dot + 1;
  }
}

Result<void> check_user_name(std::string_view user) {
  static constexpr std::string_view what = "SSH user";
  bool ok = !user.empty() && user.size() <= k_max_user &&
            ((user[0] >= 'a' && user[0] <= 'z') || user[0] == '_');
  for (char c : user) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-');
  }
  if (!ok) {
    return invalid(what, user,
                   fmt::format("a Linux user name is 1 to {} of a-z, 0-9, '_' and '-', "
                               "starting with a letter or '_'",
                               k_max_user));
  }
  if (user == "root") {
    return invalid(what, user,
                   "cloud-init disables root logins; choose a user such as \"docker\" (it "
                   "gets passwordless sudo)");
  }
  return {};
}

Result<void> check_instance_id(std::string_view id) {
  bool ok = !id.empty() && id.size() <= k_max_instance_id;
  for (char c : id) {
    ok = ok && (is_alnum(c) || c == '-' || c == '_' || c == '.');
  }
  if (!ok) {
    return invalid(
        "instance-id", id,
        fmt::format("must be 1 to {} of letters, digits, '-', '_' and '.'", k_max_instance_id));
  }
  return {};
}

Result<std::string> check_ssh_public_key(std::string_view key) {
  static constexpr std::string_view what = "SSH public key";
  // A .pub file ends with a newline (CRLF when edited on Windows).
  if (key.ends_with('\n')) {
    key.remove_suffix(1);
  }
  if (key.ends_with('\r')) {
    key.remove_suffix(1);
  }
  if (key.size() > k_max_key_line) {
    return invalid(what, key, fmt::format("longer than {} bytes", k_max_key_line));
  }
  for (char c : key) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte > 0x7e) {
      return invalid(what, key,
                     byte == '\n' ? "must be one line (one key)"
                                  : "must be printable ASCII (no control characters)");
    }
  }
  size_t space = key.find(' ');
  std::string_view type = key.substr(0, space);
  if (type == "ssh-dss") {
    return invalid(what, key, "ssh-dss (DSA) keys are refused by current OpenSSH servers");
  }
  if (std::find(k_key_types.begin(), k_key_types.end(), type) == k_key_types.end()) {
    return invalid(what, key,
                   "must start with a key type such as ssh-ed25519, ssh-rsa or "
                   "ecdsa-sha2-nistp256 (no options before it)");
  }
  if (space == std::string_view::npos) {
    return invalid(what, key, "has no base64 key after its type");
  }
  std::string_view rest = key.substr(space + 1);
  size_t end = rest.find(' ');
  std::string_view body = rest.substr(0, end);
  auto blob = decode_base64(body);
  if (!blob) {
    return invalid(what, key, "the key after the type is not base64");
  }
  auto blob_type = leading_ssh_string(*blob);
  if (!blob_type || *blob_type != type) {
    return invalid(what, key, fmt::format("the base64 key is not a {} key", type));
  }
  // After the type comes the key itself: 32 bytes for ed25519, more for the others.
  size_t key_bytes = blob->size() - 4 - type.size();
  if (type == "ssh-ed25519" ? key_bytes != k_ed25519_key_bytes : key_bytes < 4 + 32) {
    return invalid(what, key, fmt::format("the base64 {} key is cut short", type));
  }
  std::string normalized = fmt::format("{} {}", type, body);
  if (end != std::string_view::npos) {
    std::string_view comment = rest.substr(end);
    comment.remove_prefix(std::min(comment.find_first_not_of(' '), comment.size()));
    if (!comment.empty()) {
      normalized += fmt::format(" {}", comment);
    }
  }
  return normalized;
}

std::string new_instance_id() {
  std::random_device random;
  std::uniform_int_distribution<std::uint32_t> word;
  return fmt::format("dmachine-{:08x}{:08x}", word(random), word(random));
}

std::string yaml_quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20 || byte >= 0x7f) {
      out += fmt::format("\\x{:02x}", byte);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

Result<std::string> render_meta_data(const SeedSpec& spec) {
  DM_TRY_CTX(check_instance_id(spec.instance_id), "meta-data");
  DM_TRY_CTX(check_hostname(spec.hostname), "meta-data");
  return fmt::format("instance-id: {}\nlocal-hostname: {}\n", yaml_quote(spec.instance_id),
                     yaml_quote(spec.hostname));
}

Result<std::string> render_user_data(const SeedSpec& spec) {
  DM_TRY_CTX(check_user_name(spec.user), "user-data");
  auto key = check_ssh_public_key(spec.ssh_public_key);
  DM_TRY_CTX(key, "user-data");
  // The first line must be exactly "#cloud-config" for cloud-init to read the rest.
  std::string out = "#cloud-config\nusers:\n";
  out += fmt::format("  - name: {}\n", yaml_quote(spec.user));
  out += k_user_settings;
  out += fmt::format("      - {}\n", yaml_quote(*key));
  out += k_system_settings;
  out += "cloud_init_modules:\n";
  append_list(out, "  ", k_init_modules);
  out += "cloud_config_modules:\n";
  append_list(out, "  ", k_config_modules);
  out += "cloud_final_modules:\n";
  append_list(out, "  ", k_final_modules);
  return out;
}

Result<std::string> render_network_config(const SeedSpec& spec) {
  std::string dhcp_mac;
  if (!spec.dhcp_nic_mac.empty()) {
    auto mac = checked_mac("network-config: DHCP NIC MAC", spec.dhcp_nic_mac);
    DM_TRY(mac);
    dhcp_mac = *mac;
  }
  auto nic = check_static_nic(spec.private_nic, dhcp_mac);
  DM_TRY(nic);
  auto nic_header = [](std::string& out, std::string_view name, const std::string& mac) {
    out += fmt::format("  {}:\n", name);
    out += "    match:\n";
    out += fmt::format("      macaddress: {}\n", yaml_quote(mac));
    out += fmt::format("    set-name: {}\n", yaml_quote(name));
  };
  std::string out = "version: 2\nethernets:\n";
  if (!dhcp_mac.empty()) {
    nic_header(out, k_dhcp_nic_name, dhcp_mac);
    out += "    dhcp4: true\n";
    out += "    dhcp6: false\n";
  }
  nic_header(out, k_private_nic_name, nic->mac);
  out += "    dhcp4: false\n";
  out += "    dhcp6: false\n";
  out += "    addresses:\n";
  append_list(out, "      ", std::array<std::string, 1>{nic->address_cidr});
  if (!nic->gateway.empty()) {
    // gateway4, not routes: cloud-init's ifupdown renderer turns a 0.0.0.0/0 route into
    // "post-up route add" (net-tools, absent from minimal images) but gateway4 into
    // ifupdown's own "gateway"; netplan only warns that gateway4 is deprecated.
    out += fmt::format("    gateway4: {}\n", yaml_quote(nic->gateway));
  }
  if (!nic->nameservers.empty()) {
    out += "    nameservers:\n";
    out += "      addresses:\n";
    append_list(out, "        ", nic->nameservers);
  }
  return out;
}

Result<SeedDocuments> render_seed(const SeedSpec& spec) {
  auto meta_data = render_meta_data(spec);
  DM_TRY(meta_data);
  auto user_data = render_user_data(spec);
  DM_TRY(user_data);
  auto network_config = render_network_config(spec);
  DM_TRY(network_config);
  return SeedDocuments{*meta_data, *user_data, *network_config};
}

Result<void> write_seed_iso(const SeedSpec& spec, const std::filesystem::path& out) {
  auto documents = render_seed(spec);
  DM_TRY_CTX(documents, "cloud-init seed");
  std::vector<IsoImageFile> files = {
      {std::string(k_meta_data_name), documents->meta_data},
      {std::string(k_user_data_name), documents->user_data},
      {std::string(k_network_config_name), documents->network_config},
  };
  DM_TRY_CTX(write_iso_image(out, std::string(k_seed_volume_id), files, 0600), "cloud-init seed");
  return {};
}

} // namespace dm::vm
