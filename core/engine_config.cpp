#include "core/engine_config.h"

#include <algorithm>
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

namespace {

bool is_control(char c) {
  auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

bool is_word_char(char c, std::string_view extra) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         extra.find(c) != std::string_view::npos;
}

tl::unexpected<Error> bad_value(std::string_view flag, const std::string& value,
                                std::string_view why) {
  return fail(ErrorKind::usage,
              fmt::format("{} {}: {}", flag, quoted_for_display(value), why));
}

// Every value: nothing that ends a line of the unit or of a shell command.
Result<void> check_line(std::string_view flag, const std::string& value) {
  if (std::any_of(value.begin(), value.end(), is_control)) {
    return bad_value(flag, value,
                     "has a newline or another control character, which dockerd's "
                     "configuration cannot hold");
  }
  return {};
}

// A single word: a registry, a mirror, a DNS server, a storage driver, a URL.
Result<void> check_word(std::string_view flag, const std::string& value) {
  DM_TRY(check_line(flag, value));
  if (value.empty() || value.find_first_of(" \t\"'\\") != std::string::npos) {
    return bad_value(flag, value, "must be one word, without blanks, quotes or backslashes");
  }
  return {};
}

enum class KeyStart { any, not_digit };
enum class NeedsValue { no, yes };

// The shape of a "key=value" option: which flag, what to say, which key characters.
struct AssignmentRule {
  std::string_view flag;
  std::string_view shape;     // "key=value"
  std::string_view key_extra; // allowed in the key besides letters and digits
  KeyStart key_start = KeyStart::any;
  NeedsValue needs_value = NeedsValue::yes;
};

Result<void> check_assignment(const AssignmentRule& rule, const std::string& value) {
  DM_TRY(check_line(rule.flag, value));
  auto eq = value.find('=');
  if (rule.needs_value == NeedsValue::yes && eq == std::string::npos) {
    return bad_value(rule.flag, value, fmt::format("expected {}", rule.shape));
  }
  std::string_view key = std::string_view(value).substr(0, eq);
  if (rule.needs_value == NeedsValue::no && key.rfind("--", 0) == 0) {
    key.remove_prefix(2); // --engine-opt takes "--flag=value" too
  }
  bool key_ok = !key.empty() &&
                (rule.key_start == KeyStart::any || !(key.front() >= '0' && key.front() <= '9')) &&
                std::all_of(key.begin(), key.end(),
                            [&](char c) { return is_word_char(c, rule.key_extra); });
  if (!key_ok) {
    return bad_value(rule.flag, value, fmt::format("expected {}", rule.shape));
  }
  return {};
}

template <typename Check>
Result<void> check_each(const std::vector<std::string>& values, Check check) {
  for (const auto& value : values) {
    DM_TRY(check(value));
  }
  return {};
}

} // namespace

Result<void> validate_engine_options(const EngineOptions& engine) {
  static constexpr AssignmentRule k_opt{"--engine-opt", "flag=value (a dockerd flag, no dashes)",
                                        "-._", KeyStart::any, NeedsValue::no};
  static constexpr AssignmentRule k_label{"--engine-label", "key=value", "-._/", KeyStart::any,
                                          NeedsValue::yes};
  static constexpr AssignmentRule k_env{"--engine-env", "NAME=VALUE", "_", KeyStart::not_digit,
                                        NeedsValue::yes};
  for (const auto& [rule, values] : {std::pair{&k_opt, &engine.arbitrary_flags},
                                     std::pair{&k_label, &engine.labels},
                                     std::pair{&k_env, &engine.env}}) {
    const auto* kind = rule; // clang 14 cannot capture a structured binding
    DM_TRY(check_each(*values, [&](const std::string& v) { return check_assignment(*kind, v); }));
  }
  DM_TRY(check_each(engine.insecure_registry,
                    [](const std::string& v) { return check_word("--engine-insecure-registry", v); }));
  DM_TRY(check_each(engine.registry_mirror,
                    [](const std::string& v) { return check_word("--engine-registry-mirror", v); }));
  DM_TRY(check_each(engine.dns, [](const std::string& v) { return check_word("Dns", v); }));
  if (!engine.storage_driver.empty()) {
    DM_TRY(check_word("--engine-storage-driver", engine.storage_driver));
  }
  if (!engine.log_level.empty()) {
    DM_TRY(check_word("LogLevel", engine.log_level));
  }
  if (!engine.install_url.empty()) {
    DM_TRY(check_word("--engine-install-url", engine.install_url));
  }
  DM_TRY(check_line("GraphDir", engine.graph_dir));
  return {};
}

Result<void> validate_tls_sans(const std::vector<std::string>& sans) {
  return check_each(sans, [](const std::string& v) { return check_word("--tls-san", v); });
}

} // namespace dm
