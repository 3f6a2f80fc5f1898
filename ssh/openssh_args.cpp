#include "ssh/openssh_args.h"

#include <fmt/format.h>

namespace dm {

namespace {

bool has_control_character(std::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return true;
    }
  }
  return false;
}

// A host from a record is an IP address or a DNS name; anything else is refused
// before it reaches a command line.
Result<void> check_host_and_user(const SshTarget& target) {
  const std::string& host = target.host;
  bool host_ok = !host.empty() && host[0] != '-' &&
                 host.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789.:-_") == std::string::npos;
  if (!host_ok) {
    return fail(fmt::format("the machine's address \"{}\" is not an IP address or host name",
                            host));
  }
  const std::string& user = target.user;
  bool user_ok = !user.empty() && user[0] != '-' &&
                 user.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789._-") == std::string::npos;
  if (!user_ok) {
    return fail(fmt::format("the SSH user \"{}\" is not a valid user name", user));
  }
  if (target.port <= 0 || target.port > 65535) {
    return fail(fmt::format("the SSH port {} is not a valid port", target.port));
  }
  return {};
}

std::string bracketed(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

// The ssh options common to ssh and sshfs, as "Key=Value" words.
Result<std::vector<std::string>> ssh_options(const SshTarget& target) {
  auto known_hosts = openssh_option_value(target.known_hosts_path.string());
  DM_TRY_CTX(known_hosts, "the machine's known_hosts path");
  std::vector<std::string> options = {
      "UserKnownHostsFile=" + *known_hosts, "GlobalKnownHostsFile=/dev/null",
      "StrictHostKeyChecking=yes",          "UpdateHostKeys=no",
      "PasswordAuthentication=no",          "LogLevel=ERROR",
  };
  if (!target.key_path.empty()) {
    auto key = openssh_option_value(target.key_path.string());
    DM_TRY_CTX(key, "the machine's SSH key path");
    options.push_back("IdentitiesOnly=yes");
    options.push_back("IdentityFile=" + *key);
  }
  return options;
}

// sshfs (through libfuse) splits -o values at ',' and takes '\' as an escape.
std::string fuse_escaped(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == ',' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out;
}

} // namespace

Result<std::string> openssh_option_value(std::string_view value) {
  if (value.find("${") != std::string_view::npos) {
    return fail(fmt::format("\"{}\" contains \"${{\", which OpenSSH always expands as an "
                            "environment variable; use a store path without it",
                            value));
  }
  if (has_control_character(value)) {
    return fail("a path with a control character (newline, tab...) cannot be passed to OpenSSH");
  }
  std::string out = "\"";
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
    } else if (c == '%') {
      out += '%';
    }
    out += c;
  }
  out += '"';
  return out;
}

Result<std::vector<std::string>> openssh_argv(const SshTarget& target,
                                              const std::vector<std::string>& user_args) {
  DM_TRY(check_host_and_user(target));
  auto options = ssh_options(target);
  DM_TRY(options);
  // -F /dev/null: the user's ~/.ssh/config does not apply, as with docker-machine
  // and with the native session.
  std::vector<std::string> argv = {"ssh", "-F", "/dev/null"};
  for (const auto& option : *options) {
    argv.insert(argv.end(), {"-o", option});
  }
  argv.push_back(
      fmt::format("ssh://{}@{}:{}", target.user, bracketed(target.host), target.port));
  argv.insert(argv.end(), user_args.begin(), user_args.end());
  return argv;
}

Result<std::vector<std::string>> sshfs_argv(const SshTarget& target, const std::string& remote_path,
                                            const std::string& mountpoint) {
  DM_TRY(check_host_and_user(target));
  auto options = ssh_options(target);
  DM_TRY(options);
  std::vector<std::string> argv = {"sshfs", "-F", "/dev/null", "-p", std::to_string(target.port)};
  for (const auto& option : *options) {
    argv.insert(argv.end(), {"-o", fuse_escaped(option)});
  }
  argv.push_back(fmt::format("{}@{}:{}", target.user, bracketed(target.host), remote_path));
  argv.push_back(mountpoint);
  return argv;
}

} // namespace dm
