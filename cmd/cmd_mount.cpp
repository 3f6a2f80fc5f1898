// dmachine mount: mounts a directory of a machine on this computer with sshfs
// (docker-machine's `mount`), checking the machine's pinned host key; -u unmounts.
#include "app/ssh_access.h"
#include "cmd/commands.h"
#include "cmd/exec_program.h"
#include "core/scp_path.h"

#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <sys/stat.h>

namespace dm {

Result<int> cmd_mount(AppContext& context, std::vector<std::string> args) {
  CLI::App app{"Mount or unmount a directory of a machine with sshfs.\n\n"
               "Usage: dmachine mount [OPTIONS] [[user@]NAME:]PATH [MOUNTPOINT]\n\n"
               "Without a machine name, the machine named \"default\" is used; without a\n"
               "mount point, PATH is also the mount point on this computer.",
               "dmachine mount"};
  bool unmount = false;
  std::vector<std::string> paths;
  app.add_flag("-u,--unmount", unmount, "Unmount instead of mount");
  app.add_option("paths", paths, "[[user@]NAME:]PATH [MOUNTPOINT]");
  if (auto early = parse_command_line(app, std::move(args), context.out)) {
    return *early;
  }
  if (paths.empty() || paths.size() > 2) {
    return fail(ErrorKind::usage,
                "Error: Expected [[user@]NAME:]PATH and an optional MOUNTPOINT");
  }
  const std::string& source = paths[0];
  auto location = parse_scp_location(source);
  DM_TRY(location);
  if (location->machine.empty() && source.find(':') != std::string::npos &&
      source.find(':') < source.find('/')) {
    return fail(ErrorKind::usage,
                fmt::format("\"{}\": mount needs a machine, not this computer", source));
  }
  std::vector<std::string> names;
  if (!location->machine.empty()) {
    names.push_back(location->machine);
  }
  std::string mountpoint = paths.size() > 1 ? paths[1] : location->path;
  if (mountpoint.empty() || mountpoint == ".") {
    return fail(ErrorKind::usage, "Error: give a MOUNTPOINT (the remote path is the home "
                                  "directory, which is not a path on this computer)");
  }
  mountpoint = std::filesystem::absolute(mountpoint).lexically_normal().string();
  struct stat info {};
  if (stat(mountpoint.c_str(), &info) != 0) {
    return fail(fmt::format("mount point {}: {}", mountpoint, std::strerror(errno)));
  }
  if (!S_ISDIR(info.st_mode)) {
    return fail(fmt::format("mount point {}: not a directory", mountpoint));
  }

  if (unmount) {
    // Loading the machine first keeps docker-machine's errors for a wrong name.
    auto machine = load_one_machine(context, names);
    DM_TRY(machine);
    std::string program = on_path("fusermount3") ? "fusermount3" : "fusermount";
    context.out.flush();
    return exec_program({program, "-u", mountpoint},
                        "You must have a copy of the fusermount binary locally to use the unmount "
                        "option (apt install fuse3)");
  }
  if (!on_path("sshfs")) {
    return fail("You must have a copy of the sshfs binary locally to use the mount feature "
                "(apt install sshfs)");
  }
  auto machine = load_one_machine(context, names);
  DM_TRY(machine);
  const std::string& name = machine->record.name;
  DM_TRY(require_running(*machine, fmt::format("Error: Host \"{}\" is not running", name)));
  auto argv = machine_sshfs_argv(*machine, location->user, location->path, mountpoint);
  DM_TRY_CTX(argv, fmt::format("mount from machine \"{}\"", name));
  context.out.flush();
  return exec_program(*argv,
                      "You must have a copy of the sshfs binary locally to use the mount feature "
                      "(apt install sshfs)");
}

} // namespace dm
