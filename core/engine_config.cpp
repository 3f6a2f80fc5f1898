#include "core/engine_config.h"

#include <fmt/format.h>
#include <vector>

namespace dm {

std::string systemd_quote_exec_word(std::string_view word) {
  bool needs_quotes = word.empty();
  std::string body;
  for (const char c : word) {
    switch (c) {
    case '%':
      body += "%%";
      break;
    case '$':
      body += "$$";
      break;
    case '\\':
    case '"':
      body += '\\';
      body += c;
      needs_quotes = true;
      break;
    case ' ':
    case '\t':
    case '\n':
    case '\'':
    case ';':
      body += c;
      needs_quotes = true;
      break;
    default:
      body += c;
    }
  }
  if (needs_quotes) {
    return "\"" + body + "\"";
  }
  return body;
}

std::string systemd_quote_environment(std::string_view assignment) {
  std::string body;
  for (const char c : assignment) {
    if (c == '%') {
      body += "%%";
    } else if (c == '\\' || c == '"') {
      body += '\\';
      body += c;
    } else if (c == '\n') {
      body += "\\n";
    } else {
      body += c;
    }
  }
  return "\"" + body + "\"";
}

std::string render_dockerd_dropin(const DockerdConfigInput& input) {
  std::vector<std::string> args;
  auto flag = [&](const char* name, const std::string& value) {
    args.emplace_back(name);
    args.push_back(value);
  };
  args.push_back(input.dockerd_path);
  if (input.socket_activation == SocketActivation::yes) {
    flag("-H", "fd://");
  } else {
    flag("-H", "unix:///var/run/docker.sock");
  }
  flag("-H", fmt::format("tcp://0.0.0.0:{}", input.port));
  args.emplace_back("--tlsverify");
  flag("--tlscacert", input.cert_dir + "/ca.pem");
  flag("--tlscert", input.cert_dir + "/server.pem");
  flag("--tlskey", input.cert_dir + "/server-key.pem");
  flag("--label", "provider=" + input.driver_name);
  const EngineOptions& options = input.options;
  for (const auto& label : options.labels) {
    flag("--label", label);
  }
  for (const auto& registry : options.insecure_registry) {
    flag("--insecure-registry", registry);
  }
  for (const auto& mirror : options.registry_mirror) {
    flag("--registry-mirror", mirror);
  }
  if (!options.storage_driver.empty()) {
    flag("--storage-driver", options.storage_driver);
  }
  for (const auto& dns : options.dns) {
    flag("--dns", dns);
  }
  if (!options.graph_dir.empty()) {
    flag("--data-root", options.graph_dir);
  }
  if (!options.log_level.empty()) {
    flag("--log-level", options.log_level);
  }
  if (options.ipv6) {
    args.emplace_back("--ipv6");
  }
  if (options.selinux_enabled) {
    args.emplace_back("--selinux-enabled");
  }
  for (const auto& opt : options.arbitrary_flags) {
    args.push_back(opt.rfind("--", 0) == 0 ? opt : "--" + opt);
  }
  if (input.live_restore == LiveRestore::yes) {
    args.emplace_back("--live-restore");
  }

  std::string exec_start;
  for (const auto& arg : args) {
    if (!exec_start.empty()) {
      exec_start += ' ';
    }
    exec_start += systemd_quote_exec_word(arg);
  }
  std::string text = "[Service]\nExecStart=\nExecStart=" + exec_start + "\n";
  for (const auto& env : options.env) {
    text += "Environment=" + systemd_quote_environment(env) + "\n";
  }
  return text;
}

} // namespace dm
