#include "drivers/generic/generic_driver.h"

#include "core/ssh_key_check.h"
#include "core/tcp_probe.h"

#include <fmt/format.h>
#include <system_error>

namespace dm {

namespace {

constexpr int k_probe_timeout_ms = 5000;
// An existing server is up already; a short wait covers a slow sshd, not a boot.
constexpr int k_ssh_wait_seconds = 20;

class GenericDriver final : public Driver {
public:
  GenericDriver(DriverContext context, const nlohmann::json& config)
      : m_context(std::move(context)) {
    m_ip = config.value("IPAddress", "");
    m_user = config.value("SSHUser", "root");
    m_port = config.value("SSHPort", 22);
    m_key_path = config.value("SSHKeyPath", "");
    m_user_key = config.value("SSHKey", "");
    m_engine_port = config.value("EnginePort", 2376);
  }

  [[nodiscard]] nlohmann::json config() const override {
    return {{"IPAddress", m_ip},
            {"MachineName", m_context.machine_name},
            {"SSHUser", m_user},
            {"SSHPort", m_port},
            {"SSHKeyPath", m_key_path},
            {"StorePath", m_context.store_path.string()},
            {"SwarmMaster", false},
            {"SwarmHost", ""},
            {"SwarmDiscovery", ""},
            {"EnginePort", m_engine_port},
            {"SSHKey", m_user_key}};
  }

  Result<void> set_options(const DriverOptions& options) override {
    m_ip = options.get("generic-ip-address");
    m_user = options.get("generic-ssh-user", "root");
    m_user_key = options.get("generic-ssh-key");
    auto port = parse_port(options.get("generic-ssh-port", "22"), "generic-ssh-port");
    DM_TRY(port);
    m_port = *port;
    auto engine_port = parse_port(options.get("generic-engine-port", "2376"), "generic-engine-port");
    DM_TRY(engine_port);
    m_engine_port = *engine_port;
    return {};
  }

  Result<void> pre_create_check() override {
    if (m_ip.empty()) {
      return fail(ErrorKind::precreate,
                  "generic driver requires the --generic-ip-address option (the server's IP "
                  "address or host name)");
    }
    if (!m_user_key.empty()) {
      std::error_code error;
      if (!std::filesystem::is_regular_file(m_user_key, error)) {
        return fail(ErrorKind::precreate,
                    fmt::format("SSH key \"{}\" (--generic-ssh-key) is not a readable file",
                                m_user_key));
      }
      auto key = check_private_key_file(m_user_key);
      if (!key) {
        return fail(ErrorKind::precreate, key.error().message + " (--generic-ssh-key)");
      }
    }
    // Reachability is checked by the SSH connection create opens next: probing
    // here would cost the server a second connection.
    return {};
  }

  Result<void> create() override {
    namespace fs = std::filesystem;
    // The workflow generated a key in the machine directory; the server only
    // knows the user's key (or the agent's), so that one is used instead.
    const fs::path copy = m_context.machine_dir / "id_rsa";
    const fs::path copy_pub = m_context.machine_dir / "id_rsa.pub";
    std::error_code same_error;
    const bool is_the_copy = !m_user_key.empty() && fs::equivalent(m_user_key, copy, same_error);
    std::error_code ignored;
    if (!is_the_copy) {
      fs::remove(copy, ignored);
      fs::remove(copy_pub, ignored);
    }
    if (m_user_key.empty()) {
      m_key_path.clear(); // ssh-agent
      return {};
    }
    // Copied as docker-machine does, to machines/NAME/id_rsa (never under the
    // key's own name, which could be a TLS file name such as key.pem), so the
    // machine keeps working if the original moves.
    if (!is_the_copy) {
      DM_TRY(copy_private(m_user_key, copy));
      const fs::path user_pub = m_user_key + ".pub";
      if (fs::is_regular_file(user_pub, ignored)) {
        DM_TRY(copy_private(user_pub, copy_pub));
      }
    }
    m_key_path = copy.string();
    return {};
  }

  Result<void> start() override { return unsupported("start"); }
  Result<void> stop() override { return unsupported("stop"); }
  Result<void> restart() override { return unsupported("restart"); }
  Result<void> kill() override { return unsupported("kill"); }
  Result<void> remove() override { return {}; }

  [[nodiscard]] StateCheck state_check() const override { return StateCheck::network; }
  [[nodiscard]] int ssh_wait_seconds() const override { return k_ssh_wait_seconds; }

  Result<MachineState> state() override {
    ProbeResult probe = probe_tcp(m_ip, m_port, k_probe_timeout_ms, ReadFirstLine::yes);
    switch (probe.outcome) {
    case ProbeOutcome::answered:
      if (probe.first_line.rfind("SSH-", 0) == 0) {
        return MachineState::running;
      }
      return MachineState::error;
    case ProbeOutcome::refused:
    case ProbeOutcome::unreachable:
      return MachineState::stopped;
    case ProbeOutcome::timed_out:
      return MachineState::timeout;
    }
    return MachineState::error;
  }

  Result<std::string> ip() override {
    if (m_ip.empty()) {
      return fail("IP address is not set");
    }
    return m_ip;
  }

  Result<SshTarget> ssh_target() override {
    SshTarget target;
    target.host = m_ip;
    target.port = m_port;
    target.user = m_user;
    target.key_path = m_key_path;
    target.known_hosts_path = m_context.machine_dir / "known_hosts";
    return target;
  }

  [[nodiscard]] int engine_port() const override { return m_engine_port; }

private:
  static Result<void> copy_private(const std::filesystem::path& from,
                                   const std::filesystem::path& to) {
    std::error_code error;
    std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing, error);
    if (!error) {
      std::filesystem::permissions(to,
                                   std::filesystem::perms::owner_read |
                                       std::filesystem::perms::owner_write,
                                   error);
    }
    if (error) {
      return fail(fmt::format("copy SSH key \"{}\" to {}: {}", from.string(), to.string(),
                              error.message()));
    }
    return {};
  }

  static Result<int> parse_port(const std::string& text, const std::string& flag) {
    try {
      size_t used = 0;
      int port = std::stoi(text, &used);
      if (used == text.size() && port > 0 && port < 65536) {
        return port;
      }
    } catch (const std::exception&) {
    }
    return fail(ErrorKind::usage, fmt::format("--{}: \"{}\" is not a port number", flag, text));
  }

  Result<void> unsupported(const char* action) {
    return fail(ErrorKind::unsupported,
                fmt::format("the generic driver does not support {}: dmachine does not manage "
                            "the power of an existing server; {} it on the server itself",
                            action, action));
  }

  DriverContext m_context;
  std::string m_ip;
  std::string m_user;
  int m_port = 22;
  std::string m_key_path;
  std::string m_user_key;
  int m_engine_port = 2376;
};

} // namespace

std::vector<DriverFlag> generic_driver_flags() {
  return {
      {"generic-ip-address", "IP Address of machine", "", "GENERIC_IP_ADDRESS", FlagType::string},
      {"generic-ssh-user", "SSH user", "root", "GENERIC_SSH_USER", FlagType::string},
      {"generic-ssh-key", "SSH private key path (if not provided, the ssh-agent is used)", "",
       "GENERIC_SSH_KEY", FlagType::string},
      {"generic-ssh-port", "SSH port", "22", "GENERIC_SSH_PORT", FlagType::integer},
      {"generic-engine-port", "Docker engine port", "2376", "GENERIC_ENGINE_PORT",
       FlagType::integer},
  };
}

std::unique_ptr<Driver> make_generic_driver(const DriverContext& context,
                                            const nlohmann::json& config) {
  return std::make_unique<GenericDriver>(context, config);
}

} // namespace dm
