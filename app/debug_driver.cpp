#include "app/debug_driver.h"

#include "core/debug_log.h"

#include <chrono>
#include <fmt/format.h>
#include <type_traits>

namespace dm {

namespace {

std::string outcome_of(const Result<void>& result) {
  return result ? "ok" : "error: " + result.error().message;
}
std::string outcome_of(const Result<MachineState>& result) {
  return result ? std::string(to_string(*result)) : "error: " + result.error().message;
}
std::string outcome_of(const Result<std::string>& result) {
  return result ? *result : "error: " + result.error().message;
}
std::string outcome_of(const Result<SshTarget>& result) {
  return result ? fmt::format("{}@{}:{}", result->user, result->host, result->port)
                : "error: " + result.error().message;
}

class LoggedDriver final : public Driver {
public:
  LoggedDriver(std::unique_ptr<Driver> inner, std::string name)
      : m_inner(std::move(inner)), m_name(std::move(name)) {}

  [[nodiscard]] nlohmann::json config() const override { return m_inner->config(); }
  Result<void> set_options(const DriverOptions& options) override {
    return logged("set_options", [&] { return m_inner->set_options(options); });
  }
  Result<void> pre_create_check() override {
    return logged("pre_create_check", [&] { return m_inner->pre_create_check(); });
  }
  Result<void> create() override { return logged("create", [&] { return m_inner->create(); }); }
  Result<void> start() override { return logged("start", [&] { return m_inner->start(); }); }
  Result<void> stop() override { return logged("stop", [&] { return m_inner->stop(); }); }
  Result<void> restart() override {
    return logged("restart", [&] { return m_inner->restart(); });
  }
  Result<void> kill() override { return logged("kill", [&] { return m_inner->kill(); }); }
  Result<void> remove() override { return logged("remove", [&] { return m_inner->remove(); }); }
  Result<MachineState> state() override {
    return logged("state", [&] { return m_inner->state(); });
  }
  Result<std::string> ip() override { return logged("ip", [&] { return m_inner->ip(); }); }
  Result<SshTarget> ssh_target() override {
    return logged("ssh_target", [&] { return m_inner->ssh_target(); });
  }
  [[nodiscard]] int engine_port() const override { return m_inner->engine_port(); }
  [[nodiscard]] StateCheck state_check() const override { return m_inner->state_check(); }
  [[nodiscard]] int ssh_wait_seconds() const override { return m_inner->ssh_wait_seconds(); }
  [[nodiscard]] std::string state_batch_key() const override {
    return m_inner->state_batch_key();
  }
  void learn_states(const std::vector<Driver*>& members) override {
    const auto started = std::chrono::steady_clock::now();
    m_inner->learn_states(members);
    debug_log("driver", fmt::format("{} learn_states({} machines) in {}", m_name, members.size(),
                                    elapsed_since(started)));
  }
  void remember_state(const Result<MachineState>& state, const std::string& ip) override {
    m_inner->remember_state(state, ip);
  }

private:
  template <typename Fn>
  std::invoke_result_t<Fn> logged(const char* call, Fn fn) {
    const auto started = std::chrono::steady_clock::now();
    auto result = fn();
    debug_log("driver", fmt::format("{} {}() -> {} in {}", m_name, call, outcome_of(result),
                                    elapsed_since(started)));
    return result;
  }

  std::unique_ptr<Driver> m_inner;
  std::string m_name;
};

} // namespace

std::unique_ptr<Driver> with_debug_log(std::unique_ptr<Driver> driver,
                                       const std::string& driver_name) {
  if (!debug_enabled()) {
    return driver;
  }
  return std::make_unique<LoggedDriver>(std::move(driver), driver_name);
}

} // namespace dm
