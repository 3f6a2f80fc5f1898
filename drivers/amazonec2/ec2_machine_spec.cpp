#include "drivers/amazonec2/ec2_machine_spec.h"

#include "core/machine_record.h"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>
#include <regex>

namespace dm::aws {

namespace {

constexpr const char* k_anywhere = "0.0.0.0/0";
constexpr const char* k_debian_owner =
    "136693071363"; // Debian's AWS account (wiki.debian.org/Cloud/AmazonEC2Image)

Result<int> parse_port_number(const std::string& text) {
  if (text.empty() || text.size() > 5 ||
      !std::all_of(text.begin(), text.end(),
                   [](unsigned char c) { return std::isdigit(c) != 0; })) {
    return fail(ErrorKind::usage, "not a port number");
  }
  const int port = std::stoi(text);
  if (port < 1 || port > 65535) {
    return fail(ErrorKind::usage, "not a port number");
  }
  return port;
}

} // namespace

MachineState machine_state_of(const std::string& ec2_state_name) {
  if (ec2_state_name == "pending") {
    return MachineState::starting;
  }
  if (ec2_state_name == "running") {
    return MachineState::running;
  }
  if (ec2_state_name == "stopping" || ec2_state_name == "shutting-down") {
    return MachineState::stopping;
  }
  if (ec2_state_name == "stopped") {
    return MachineState::stopped;
  }
  return MachineState::error;
}

Result<std::vector<Ec2Tag>> parse_tags_flag(const std::string& text) {
  std::vector<Ec2Tag> tags;
  if (text.empty()) {
    return tags;
  }
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    parts.push_back(text.substr(start, comma - start));
    if (comma == std::string::npos) {
      break;
    }
    start = comma + 1;
  }
  if (parts.size() % 2 != 0) {
    return fail(ErrorKind::usage,
                fmt::format("--amazonec2-tags {}: give key,value pairs (key1,value1,key2,value2)",
                            quoted_for_display(text)));
  }
  for (size_t i = 0; i < parts.size(); i += 2) {
    if (parts[i].empty() || parts[i].size() > 128 || parts[i + 1].size() > 256 ||
        parts[i].rfind("aws:", 0) == 0) {
      return fail(ErrorKind::usage,
                  fmt::format("--amazonec2-tags: tag key {} is empty, too long or starts with "
                              "the reserved aws:",
                              quoted_for_display(parts[i])));
    }
    tags.push_back({parts[i], parts[i + 1]});
  }
  return tags;
}

Result<OpenPort> parse_open_port(const std::string& text) {
  OpenPort open;
  std::string number = text;
  if (const auto slash = text.find('/'); slash != std::string::npos) {
    number = text.substr(0, slash);
    open.protocol = text.substr(slash + 1);
  }
  auto port = parse_port_number(number);
  if (!port || (open.protocol != "tcp" && open.protocol != "udp")) {
    return fail(ErrorKind::usage,
                fmt::format("--amazonec2-open-port {}: give PORT or PORT/tcp or PORT/udp",
                            quoted_for_display(text)));
  }
  open.port = *port;
  return open;
}

std::vector<IpPermission> machine_group_rules(const std::string& group_id, int ssh_port,
                                              int engine_port,
                                              const std::vector<OpenPort>& open_ports) {
  std::vector<IpPermission> rules;
  auto from_anywhere = [&](const std::string& protocol, int port, const std::string& why) {
    for (const auto& rule : rules) {
      if (rule.protocol == protocol && rule.from_port == port && !rule.ranges.empty()) {
        return; // EC2 refuses a duplicate rule in one call
      }
    }
    rules.push_back({protocol, port, port, {{k_anywhere, why}}, {}});
  };
  from_anywhere("tcp", ssh_port, "SSH");
  from_anywhere("tcp", engine_port, "Docker engine (TLS)");
  for (const auto& open : open_ports) {
    from_anywhere(open.protocol, open.port, "--amazonec2-open-port");
  }
  rules.push_back({"tcp", 2377, 2377, {}, {group_id}});
  rules.push_back({"tcp", 7946, 7946, {}, {group_id}});
  rules.push_back({"udp", 7946, 7946, {}, {group_id}});
  rules.push_back({"udp", 4789, 4789, {}, {group_id}});
  return rules;
}

ImageQuery default_image_query(const std::string& instance_type) {
  static const std::regex arm_family("^[a-z]+[0-9]+[a-z]*g[a-z]*\\..*");
  const bool arm = std::regex_match(instance_type, arm_family);
  return ImageQuery{k_debian_owner, arm ? "debian-12-arm64-*" : "debian-12-amd64-*",
                    arm ? "arm64" : "x86_64", "admin"};
}

bool valid_ec2_name(const std::string& name) {
  return !name.empty() && name.size() <= 255 &&
         std::all_of(name.begin(), name.end(), [](unsigned char c) {
           return std::isalnum(c) != 0 || c == '.' || c == '_' || c == '-';
         });
}

bool valid_ec2_id(const std::string& id, const std::string& prefix) {
  const std::string head = prefix + "-";
  return id.size() > head.size() && id.size() <= head.size() + 32 && id.rfind(head, 0) == 0 &&
         std::all_of(id.begin() + static_cast<long>(head.size()), id.end(),
                     [](unsigned char c) { return std::isxdigit(c) != 0 && std::isupper(c) == 0; });
}

} // namespace dm::aws
