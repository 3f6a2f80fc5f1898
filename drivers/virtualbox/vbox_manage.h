#pragma once
// Running VBoxManage through a ProcessRunner: where it is (PATH, then VBOX_MSI_INSTALL_PATH and
// VBOX_INSTALL_PATH), docker-machine's retry on "The object is not ready", and errors that
// name the command and carry VBoxManage's own message.
#include "core/process_runner.h"
#include "core/result.h"

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dm::virtualbox {

// The VBoxManage program: the first executable VBoxManage in path_env's directories, else in
// the directory named by msi_install_path, else install_path; nullopt when none exists.
std::optional<std::filesystem::path>
find_vboxmanage(std::string_view path_env, std::string_view msi_install_path,
                std::string_view install_path,
                const std::function<bool(const std::filesystem::path&)>& is_executable);

// The pre-create error when VBoxManage cannot be found (exit 3).
Error vboxmanage_missing_error();

class VBoxManage {
public:
  // sleep_ms waits between retries; tests pass one that does not sleep.
  VBoxManage(ProcessRunner& runner, std::string program, std::function<void(int)> sleep_ms);

  // stdout of `VBoxManage args...`; an error when it exits non-zero or prints "error:".
  Result<std::string> run(const std::vector<std::string>& args);
  // The full result (exit status, stdout, stderr), for callers that read stderr themselves;
  // errors only when the program could not run.
  Result<ProcessResult> run_raw(const std::vector<std::string>& args);

  [[nodiscard]] const std::string& program() const { return m_program; }

private:
  ProcessRunner& m_runner;
  std::string m_program;
  std::function<void(int)> m_sleep_ms;
};

} // namespace dm::virtualbox
