#include "drivers/google/gce_requests.h"

#include "core/digest.h"

#include <algorithm>
#include <fmt/format.h>
#include <regex>

namespace dm::google {

namespace {

using nlohmann::json;

bool valid_gce_name(const std::string& text) {
  static const std::regex pattern("[a-z]([-a-z0-9]{0,61}[a-z0-9])?");
  return std::regex_match(text, pattern);
}

// name-suffix for a network other than "default", kept within GCE's 63 characters.
std::string rule_name(const std::string& base, const std::string& network) {
  const std::string net = network.substr(network.find_last_of('/') + 1);
  if (net == "default") {
    return base;
  }
  return base + "-" + hex_lower(sha256(network)).substr(0, 10);
}

json rule_body(const std::string& name, const std::string& network, const std::string& what,
               json allowed) {
  return json{{"name", name},
              {"network", network_path(network)},
              {"direction", "INGRESS"},
              {"priority", 1000},
              {"allowed", std::move(allowed)},
              {"description", std::string(k_rule_marker) + " " + what}};
}

} // namespace

std::string network_path(const std::string& network) {
  for (const char* start : {"projects/", "global/"}) {
    if (auto at = network.find(start); at != std::string::npos) {
      return network.substr(at);
    }
  }
  return "global/networks/" + network;
}

json instance_insert_body(const GceInstanceSpec& spec) {
  json nic = {{"network", network_path(spec.network)}};
  if (!spec.subnetwork.empty()) {
    if (auto at = spec.subnetwork.find("projects/"); at != std::string::npos) {
      nic["subnetwork"] = spec.subnetwork.substr(at);
    } else if (spec.subnetwork.find("/subnetworks/") != std::string::npos) {
      nic["subnetwork"] = spec.subnetwork;
    } else {
      const std::string region = spec.zone.substr(0, spec.zone.find_last_of('-'));
      nic["subnetwork"] = "regions/" + region + "/subnetworks/" + spec.subnetwork;
    }
  }
  if (spec.external_ip) {
    json access = {{"name", "External NAT"}, {"type", "ONE_TO_ONE_NAT"}};
    if (!spec.nat_ip.empty()) {
      access["natIP"] = spec.nat_ip;
    }
    nic["accessConfigs"] = json::array({access});
  }
  json body = {
      {"name", spec.name},
      {"description", "docker host made by dmachine"},
      {"machineType", "zones/" + spec.zone + "/machineTypes/" + spec.machine_type},
      {"tags", {{"items", spec.tags}}},
      {"disks",
       json::array({{{"boot", true},
                     {"autoDelete", true},
                     {"type", "PERSISTENT"},
                     {"initializeParams",
                      {{"sourceImage", spec.source_image},
                       {"diskSizeGb", std::to_string(spec.disk_size_gb)},
                       {"diskType", "zones/" + spec.zone + "/diskTypes/" + spec.disk_type}}}}})},
      {"networkInterfaces", json::array({nic})},
      {"metadata",
       {{"items", json::array({{{"key", "ssh-keys"},
                                {"value", spec.ssh_user + ":" + spec.ssh_public_key}}})}}},
  };
  if (!spec.service_account.empty()) {
    body["serviceAccounts"] =
        json::array({{{"email", spec.service_account}, {"scopes", spec.scopes}}});
  }
  if (spec.preemptible) {
    body["scheduling"] = {
        {"preemptible", true}, {"automaticRestart", false}, {"onHostMaintenance", "TERMINATE"}};
  }
  return body;
}

Result<OpenPort> parse_open_port(const std::string& text) {
  static const std::regex pattern("([0-9]{1,5})(-[0-9]{1,5})?(/(tcp|udp))?");
  std::smatch match;
  if (!std::regex_match(text, match, pattern)) {
    return fail(ErrorKind::usage,
                fmt::format("--google-open-port \"{}\" is not PORT[/tcp|/udp]", text));
  }
  for (int group : {1, 2}) {
    if (match[group].matched) {
      const int port = std::stoi(match[group].str().substr(group == 2 ? 1 : 0));
      if (port < 1 || port > 65535) {
        return fail(ErrorKind::usage,
                    fmt::format("--google-open-port \"{}\": {} is not a port", text, port));
      }
    }
  }
  return OpenPort{match[4].matched ? match[4].str() : "tcp", match[1].str() + match[2].str()};
}

FirewallRule engine_rule(const std::string& network, int engine_port) {
  FirewallRule rule;
  rule.name = rule_name("dmachine-engine", network);
  rule.target_tag = k_machine_tag;
  rule.body = rule_body(
      rule.name, network, "SSH and the Docker engine of dmachine's machines",
      json::array({{{"IPProtocol", "tcp"}, {"ports", {"22", std::to_string(engine_port)}}}}));
  rule.body["sourceRanges"] = {"0.0.0.0/0"};
  rule.body["targetTags"] = {rule.target_tag};
  return rule;
}

FirewallRule swarm_rule(const std::string& network) {
  FirewallRule rule;
  rule.name = rule_name("dmachine-swarm", network);
  rule.target_tag = k_machine_tag;
  rule.body = rule_body(rule.name, network, "swarm ports between dmachine's machines only",
                        json::array({{{"IPProtocol", "tcp"}, {"ports", {"2377", "7946"}}},
                                     {{"IPProtocol", "udp"}, {"ports", {"7946", "4789"}}}}));
  rule.body["sourceTags"] = {k_machine_tag};
  rule.body["targetTags"] = {k_machine_tag};
  return rule;
}

FirewallRule open_ports_rule(const std::string& network, const std::vector<OpenPort>& ports) {
  std::vector<std::string> keys;
  for (const auto& port : ports) {
    keys.push_back(port.port + "/" + port.protocol);
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  std::string joined;
  for (const auto& key : keys) {
    joined += key + ",";
  }
  FirewallRule rule;
  rule.target_tag = "dmachine-ports-" + hex_lower(sha256(joined)).substr(0, 10);
  rule.name = rule_name(rule.target_tag, network);
  json allowed = json::array();
  for (const char* protocol : {"tcp", "udp"}) {
    json list = json::array();
    for (const auto& key : keys) {
      auto slash = key.find('/');
      if (key.substr(slash + 1) == protocol) {
        list.push_back(key.substr(0, slash));
      }
    }
    if (!list.empty()) {
      allowed.push_back({{"IPProtocol", protocol}, {"ports", list}});
    }
  }
  rule.body = rule_body(rule.name, network, "ports opened with --google-open-port " + joined,
                        std::move(allowed));
  rule.body["description"] = rule.body["description"].get<std::string>().substr(
      0, rule.body["description"].get<std::string>().size() - (joined.empty() ? 0 : 1));
  rule.body["sourceRanges"] = {"0.0.0.0/0"};
  rule.body["targetTags"] = {rule.target_tag};
  return rule;
}

Result<std::vector<std::string>> parse_tags(const std::string& text) {
  std::vector<std::string> tags;
  size_t start = 0;
  while (start <= text.size() && !text.empty()) {
    size_t comma = text.find(',', start);
    std::string tag = text.substr(start, comma == std::string::npos ? comma : comma - start);
    if (!valid_gce_name(tag)) {
      return fail(ErrorKind::usage,
                  fmt::format("--google-tags: \"{}\" is not a tag (lower-case letters, digits "
                              "and dashes, starting with a letter, at most 63)",
                              tag));
    }
    tags.push_back(tag);
    if (comma == std::string::npos) {
      break;
    }
    start = comma + 1;
  }
  return tags;
}

} // namespace dm::google
