#include "drivers/virtualbox/vbox_manage.h"

#include "core/printable.h"

#include <fmt/format.h>

namespace dm::virtualbox {

namespace {

constexpr int k_not_ready_retries = 5;
constexpr int k_not_ready_delay_ms = 100;
constexpr std::string_view k_not_ready = "error: The object is not ready";
// A VBoxManage call never takes this long, except a disk conversion of a big image.
constexpr int k_timeout_seconds = 1800;

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

} // namespace

std::optional<std::filesystem::path>
find_vboxmanage(std::string_view path_env, std::string_view msi_install_path,
                std::string_view install_path,
                const std::function<bool(const std::filesystem::path&)>& is_executable) {
  std::vector<std::string_view> dirs;
  while (!path_env.empty()) {
    auto colon = path_env.find(':');
    dirs.push_back(path_env.substr(0, colon));
    if (colon == std::string_view::npos) {
      break;
    }
    path_env.remove_prefix(colon + 1);
  }
  dirs.push_back(msi_install_path);
  dirs.push_back(install_path);
  for (auto dir : dirs) {
    // An empty PATH entry means the current directory: never a place to pick a program from.
    if (dir.empty()) {
      continue;
    }
    auto candidate = std::filesystem::path(dir) / "VBoxManage";
    if (candidate.is_absolute() && is_executable(candidate)) {
      return candidate;
    }
  }
  return std::nullopt;
}

Error vboxmanage_missing_error() {
  return Error{ErrorKind::precreate,
               "VBoxManage not found. Make sure VirtualBox (6.1 or later, "
               "https://www.virtualbox.org) is installed and VBoxManage is in the PATH (or "
               "VBOX_MSI_INSTALL_PATH names its directory)"};
}

VBoxManage::VBoxManage(ProcessRunner& runner, std::string program,
                       std::function<void(int)> sleep_ms)
    : m_runner(runner), m_program(std::move(program)), m_sleep_ms(std::move(sleep_ms)) {}

Result<ProcessResult> VBoxManage::run_raw(const std::vector<std::string>& args) {
  std::vector<std::string> argv{m_program};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions options;
  options.timeout_seconds = k_timeout_seconds;
  for (int attempt = 1;; ++attempt) {
    auto result = m_runner.run(argv, options);
    DM_TRY(result);
    // VirtualBox answers this while a session of the VM is closing: docker-machine retries.
    if (attempt < k_not_ready_retries && result->err.find(k_not_ready) != std::string::npos) {
      m_sleep_ms(k_not_ready_delay_ms);
      continue;
    }
    return result;
  }
}

Result<std::string> VBoxManage::run(const std::vector<std::string>& args) {
  auto result = run_raw(args);
  DM_TRY(result);
  // VBoxManage sometimes exits 0 after a fatal error (docker-machine's observation).
  if (result->exit_status != 0 || result->err.find("error:") != std::string::npos) {
    std::vector<std::string> argv{"VBoxManage"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string detail = trimmed(result->err);
    if (detail.empty()) {
      detail = trimmed(result->out);
    }
    return fail(fmt::format("{} failed (exit {}): {}", join_argv(argv), result->exit_status,
                            printable(detail, 2000)));
  }
  return std::move(result->out);
}

} // namespace dm::virtualbox
