#include "app/ssh_access.h"

#include "ssh/openssh_args.h"

namespace dm {

namespace {

Result<SshTarget> target_as(LoadedMachine& machine, const std::string& user) {
  auto target = machine_ssh_target(machine);
  DM_TRY(target);
  if (!user.empty()) {
    target->user = user;
  }
  return target;
}

} // namespace

ShellFactory ssh_shell_factory() {
  return [](const SshTarget& target) { return open_ssh_shell(target, ConnectOptions{}); };
}

Result<std::unique_ptr<SshShell>> open_machine_session(LoadedMachine& machine,
                                                       const std::string& user,
                                                       int wait_seconds) {
  auto target = target_as(machine, user);
  DM_TRY(target);
  ConnectOptions options;
  options.wait_seconds = wait_seconds;
  return open_ssh_session(*target, options);
}

Result<std::vector<std::string>> machine_openssh_argv(LoadedMachine& machine,
                                                      const std::vector<std::string>& user_args) {
  auto target = machine_ssh_target(machine);
  DM_TRY(target);
  auto argv = openssh_argv(*target, user_args);
  DM_TRY(argv);
  DM_TRY(pin_host_key(*target)); // the system ssh refuses a host it does not know
  return argv;
}

Result<std::vector<std::string>> machine_sshfs_argv(LoadedMachine& machine, const std::string& user,
                                                    const std::string& remote_path,
                                                    const std::string& mountpoint) {
  auto target = target_as(machine, user);
  DM_TRY(target);
  auto argv = sshfs_argv(*target, remote_path, mountpoint);
  DM_TRY(argv);
  DM_TRY(pin_host_key(*target));
  return argv;
}

} // namespace dm
