#pragma once
// The JSON bodies the google driver sends (instance insert, firewall rules) and the
// names it gives its firewall rules and network tags; pure functions.
#include "core/result.h"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace dm::google {

// The tag every dmachine instance carries; the engine and swarm rules target it.
constexpr const char* k_machine_tag = "dmachine";

struct GceInstanceSpec {
  std::string name;
  std::string zone;
  std::string machine_type;
  std::string source_image; // projects/P/global/images/NAME
  int disk_size_gb = 10;
  std::string disk_type;
  std::string network;    // a name or a URL/path containing /networks/
  std::string subnetwork; // "", a name, or a path containing /subnetworks/
  std::string nat_ip;     // --google-address as an IP; "" for an ephemeral one
  bool external_ip = true;
  bool preemptible = false;
  std::vector<std::string> tags;
  std::string ssh_user;
  std::string ssh_public_key; // one line "ssh-rsa AAAA... comment"
  std::string service_account;
  std::vector<std::string> scopes;
};

// instances.insert's body.
nlohmann::json instance_insert_body(const GceInstanceSpec& spec);

// "8080/tcp", "53/udp", "8080" (tcp): {protocol, port}; an error for anything else.
struct OpenPort {
  std::string protocol;
  std::string port;
};
Result<OpenPort> parse_open_port(const std::string& text);

// A firewall rule the driver needs: created when missing, shared by every machine that
// carries its target tag, removed when the last one goes.
struct FirewallRule {
  std::string name;
  nlohmann::json body;
  std::string target_tag;
};
// SSH and the engine port from anywhere to k_machine_tag.
FirewallRule engine_rule(const std::string& network, int engine_port);
// Swarm ports (2377/tcp, 7946/tcp+udp, 4789/udp) from k_machine_tag to k_machine_tag only.
FirewallRule swarm_rule(const std::string& network);
// --google-open-port ports from anywhere, to a tag named after the set of ports.
FirewallRule open_ports_rule(const std::string& network, const std::vector<OpenPort>& ports);

// "global/networks/NAME" for a name; a path or URL is kept from "projects/" or "global/".
std::string network_path(const std::string& network);

// Written in the description of every rule the driver makes: only such rules are deleted.
constexpr const char* k_rule_marker = "dmachine:";

// --google-tags "a,b" checked against GCE's tag syntax.
Result<std::vector<std::string>> parse_tags(const std::string& text);

} // namespace dm::google
