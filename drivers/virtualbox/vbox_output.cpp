#include "drivers/virtualbox/vbox_output.h"

#include "core/printable.h"

#include <charconv>
#include <fmt/format.h>
#include <set>

namespace dm::virtualbox {

namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    auto end = text.find('\n');
    lines.push_back(text.substr(0, end));
    if (end == std::string_view::npos) {
      break;
    }
    text.remove_prefix(end + 1);
  }
  return lines;
}

// A quoted token starting at text[0] == '"': its unescaped content and the rest after the
// closing quote; nullopt when it does not close.
std::optional<std::pair<std::string, std::string_view>> read_quoted(std::string_view text) {
  std::string value;
  for (std::size_t i = 1; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\' && i + 1 < text.size() && (text[i + 1] == '\\' || text[i + 1] == '"')) {
      value += text[++i];
    } else if (c == '"') {
      return std::make_pair(std::move(value), text.substr(i + 1));
    } else {
      value += c;
    }
  }
  return std::nullopt;
}

// "Key:   value" lines of the list commands.
std::optional<std::pair<std::string_view, std::string_view>> colon_line(std::string_view line) {
  auto colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return std::nullopt;
  }
  return std::make_pair(trim(line.substr(0, colon)), trim(line.substr(colon + 1)));
}

// The "Key: value" records of a list command; a record starts at its first_key line (blank
// lines do not end one: `list hostonlynets` has one inside each record).
std::vector<std::map<std::string, std::string>> records(std::string_view text,
                                                        std::string_view first_key) {
  std::vector<std::map<std::string, std::string>> found;
  for (auto line : lines_of(text)) {
    auto pair = colon_line(line);
    if (!pair) {
      continue;
    }
    if (pair->first == first_key) {
      found.emplace_back();
    }
    if (!found.empty()) {
      found.back().emplace(pair->first, pair->second);
    }
  }
  return found;
}

std::string field(const std::map<std::string, std::string>& record, const std::string& key) {
  auto found = record.find(key);
  return found == record.end() ? "" : found->second;
}

} // namespace

std::map<std::string, std::string> parse_machine_readable(std::string_view text) {
  std::map<std::string, std::string> values;
  for (auto line : lines_of(text)) {
    line = trim(line);
    if (line.empty()) {
      continue;
    }
    std::string key;
    std::string_view rest;
    if (line.front() == '"') {
      auto quoted = read_quoted(line);
      if (!quoted || quoted->second.empty() || quoted->second.front() != '=') {
        continue;
      }
      key = std::move(quoted->first);
      rest = quoted->second.substr(1);
    } else {
      auto equals = line.find('=');
      if (equals == std::string_view::npos || equals == 0) {
        continue;
      }
      key = std::string(line.substr(0, equals));
      rest = line.substr(equals + 1);
    }
    if (!rest.empty() && rest.front() == '"') {
      auto quoted = read_quoted(rest);
      if (!quoted) {
        continue;
      }
      values[key] = std::move(quoted->first);
    } else {
      values[key] = std::string(rest);
    }
  }
  return values;
}

MachineState vm_state(const std::map<std::string, std::string>& info) {
  auto found = info.find("VMState");
  if (found == info.end()) {
    return MachineState::none;
  }
  const std::string& state = found->second;
  if (state == "running") {
    return MachineState::running;
  }
  if (state == "paused") {
    return MachineState::paused;
  }
  if (state == "saved") {
    return MachineState::saved;
  }
  if (state == "poweroff" || state == "aborted") {
    return MachineState::stopped;
  }
  return MachineState::none;
}

bool is_machine_not_found(std::string_view stderr_text) {
  return stderr_text.find("Could not find a registered machine named '") != std::string_view::npos;
}

Result<std::vector<HostOnlyInterface>> parse_hostonly_ifs(std::string_view text) {
  std::vector<HostOnlyInterface> interfaces;
  std::set<std::string> names;
  std::set<std::string> ips;
  for (const auto& record : records(text, "Name")) {
    HostOnlyInterface interface{field(record, "Name"),           field(record, "IPAddress"),
                                field(record, "NetworkMask"),    false,
                                field(record, "Status"),         field(record, "VBoxNetworkName")};
    interface.dhcp = record.count("DHCP") != 0 && field(record, "DHCP") != "Disabled";
    if (!names.insert(interface.name).second) {
      return fail(fmt::format("VirtualBox is configured with multiple host-only adapters with "
                              "the same name \"{}\". Please remove one",
                              printable(interface.name)));
    }
    if (!interface.ip.empty() && !ips.insert(interface.ip).second) {
      return fail(fmt::format("VirtualBox is configured with multiple host-only adapters with "
                              "the same IP \"{}\". Please remove one",
                              printable(interface.ip)));
    }
    interfaces.push_back(std::move(interface));
  }
  return interfaces;
}

std::vector<HostOnlyNetwork> parse_hostonly_nets(std::string_view text) {
  std::vector<HostOnlyNetwork> networks;
  for (const auto& record : records(text, "Name")) {
    networks.push_back({field(record, "Name"), field(record, "NetworkMask"),
                        field(record, "LowerIP"), field(record, "UpperIP"),
                        field(record, "State") == "Enabled", field(record, "VBoxNetworkName")});
  }
  return networks;
}

std::vector<DhcpServer> parse_dhcp_servers(std::string_view text) {
  std::vector<DhcpServer> servers;
  for (const auto& record : records(text, "NetworkName")) {
    // VirtualBox 6.1+ renamed some keys; docker-machine's captures have the old ones.
    auto either = [&](const char* old_key, const char* new_key) {
      auto value = field(record, old_key);
      return value.empty() ? field(record, new_key) : value;
    };
    servers.push_back({field(record, "NetworkName"), either("IP", "Dhcpd IP"),
                       field(record, "NetworkMask"), either("lowerIPAddress", "LowerIPAddress"),
                       either("upperIPAddress", "UpperIPAddress"), field(record, "Enabled") == "Yes"});
  }
  return servers;
}

std::optional<std::string> parse_created_interface(std::string_view text) {
  constexpr std::string_view k_before = "Interface '";
  constexpr std::string_view k_after = "' was successfully created";
  for (auto line : lines_of(text)) {
    auto start = line.find(k_before);
    auto end = line.find(k_after);
    if (start == std::string_view::npos || end == std::string_view::npos ||
        end <= start + k_before.size()) {
      continue;
    }
    return std::string(line.substr(start + k_before.size(), end - start - k_before.size()));
  }
  return std::nullopt;
}

Result<VBoxVersion> parse_version(std::string_view output) {
  std::string_view last;
  for (auto line : lines_of(output)) {
    if (!trim(line).empty()) {
      last = trim(line);
    }
  }
  VBoxVersion version;
  version.text = std::string(last);
  auto bad = [&]() {
    return fail(ErrorKind::precreate,
                fmt::format("VBoxManage --version printed \"{}\", not a version; is VirtualBox "
                            "installed correctly?",
                            printable(last)));
  };
  const char* begin = last.data();
  const char* end = last.data() + last.size();
  auto major = std::from_chars(begin, end, version.major);
  if (major.ec != std::errc{} || major.ptr == end || *major.ptr != '.') {
    return bad();
  }
  auto minor = std::from_chars(major.ptr + 1, end, version.minor);
  if (minor.ec != std::errc{}) {
    return bad();
  }
  return version;
}

Result<void> check_version(const VBoxVersion& version) {
  if (version.major < 6 || (version.major == 6 && version.minor < 1)) {
    return fail(ErrorKind::precreate,
                fmt::format("VirtualBox {} is too old: the virtualbox driver needs VirtualBox 6.1 "
                            "or later; upgrade at https://www.virtualbox.org",
                            printable(version.text)));
  }
  return {};
}

bool use_hostonly_networks(const VBoxVersion& version, HostOs os) {
  return os == HostOs::macos && version.major >= 7;
}

bool cpu_has_virtualization(std::string_view cpuinfo) {
  for (auto line : lines_of(cpuinfo)) {
    auto pair = colon_line(line);
    if (!pair || pair->first != "flags") {
      continue;
    }
    std::string flags = " " + std::string(pair->second) + " ";
    if (flags.find(" vmx ") != std::string::npos || flags.find(" svm ") != std::string::npos) {
      return true;
    }
  }
  return false;
}

bool log_says_vtx_disabled(std::string_view log) {
  for (auto line : lines_of(log)) {
    if (line.find("VT-x is disabled") != std::string_view::npos &&
        line.find("Falling back to raw-mode: VT-x is disabled in the BIOS for all CPU modes") ==
            std::string_view::npos) {
      return true;
    }
    if (line.find("the host CPU does NOT support HW virtualization") != std::string_view::npos ||
        line.find("VERR_VMX_UNABLE_TO_START_VM") != std::string_view::npos ||
        (line.find("Power up failed") != std::string_view::npos &&
         line.find("VERR_VMX_NO_VMX") != std::string_view::npos)) {
      return true;
    }
  }
  return false;
}

ShareFolder parse_share_folder(std::string_view value) {
  auto colon = value.rfind(':');
  if (colon == std::string_view::npos) {
    return {"", std::string(value)};
  }
  return {std::string(value.substr(0, colon)), std::string(value.substr(colon + 1))};
}

std::string vbox_mac(std::string_view mac) {
  std::string out;
  for (char c : mac) {
    if (c != ':') {
      out += static_cast<char>(c >= 'a' && c <= 'f' ? c - 'a' + 'A' : c);
    }
  }
  return out;
}

} // namespace dm::virtualbox
