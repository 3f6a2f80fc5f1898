// dmachine scp: copies files between this computer and machines, or between
// two machines through this computer, over one SSH session per machine.
#include "app/ssh_access.h"
#include "cmd/commands.h"
#include "core/scp_path.h"

#include <fmt/format.h>
#include <cstring>
#include <ostream>
#include <sys/stat.h>
#include <unistd.h>

namespace dm {

namespace {

struct Endpoint {
  ScpLocation location;
  std::unique_ptr<SshShell> shell; // null for this computer
};

Result<Endpoint> open_endpoint(AppContext& context, const ScpLocation& location) {
  Endpoint endpoint{location, nullptr};
  if (location.machine.empty()) {
    return endpoint;
  }
  auto machine = load_machine(context, location.machine);
  DM_TRY(machine);
  DM_TRY(require_running(*machine,
                         fmt::format("Error: Host \"{}\" is not running", location.machine)));
  auto shell = open_machine_session(*machine, location.user);
  DM_TRY_CTX(shell, fmt::format("scp: machine \"{}\"", location.machine));
  endpoint.shell = std::move(*shell);
  return endpoint;
}

// Where a copied item lands on this computer: inside dest when dest is a directory.
std::filesystem::path local_destination(const std::filesystem::path& dest,
                                        const std::string& source_name) {
  std::error_code error;
  if (std::filesystem::is_directory(dest, error)) {
    return dest / source_name;
  }
  return dest;
}

std::string base_name(const std::string& path) {
  std::string trimmed = path;
  while (trimmed.size() > 1 && trimmed.back() == '/') {
    trimmed.pop_back();
  }
  auto slash = trimmed.rfind('/');
  return slash == std::string::npos ? trimmed : trimmed.substr(slash + 1);
}

Result<void> copy(Endpoint& source, Endpoint& dest, Recursive recursive) {
  const std::string name = base_name(source.location.path);
  if (!source.shell && !dest.shell) {
    std::error_code error;
    auto options = std::filesystem::copy_options::overwrite_existing;
    if (recursive == Recursive::yes) {
      options |= std::filesystem::copy_options::recursive;
    }
    std::filesystem::copy(source.location.path,
                          local_destination(dest.location.path, name), options, error);
    if (error) {
      return fail(fmt::format("scp: {}", error.message()));
    }
    return {};
  }
  if (!source.shell) {
    return dest.shell->copy_to(source.location.path, dest.location.path, recursive);
  }
  if (!dest.shell) {
    return source.shell->copy_from(source.location.path,
                                   local_destination(dest.location.path, name), recursive);
  }
  // Machine to machine: through a private temporary directory on this computer.
  char pattern[] = "/tmp/dmachine-scp.XXXXXX";
  if (mkdtemp(pattern) == nullptr) {
    return fail(fmt::format("scp: make a temporary directory: {}", std::strerror(errno)));
  }
  std::filesystem::path staging = std::filesystem::path(pattern) / name;
  Endpoint local{ScpLocation{"", "", staging.string()}, nullptr};
  auto down = copy(source, local, recursive);
  Result<void> up = down;
  if (down) {
    up = dest.shell->copy_to(staging, dest.location.path, recursive);
  }
  std::error_code ignored;
  std::filesystem::remove_all(pattern, ignored);
  return up;
}

} // namespace

Result<int> cmd_scp(AppContext& context, std::vector<std::string> args) {
  CLI::App app{"Copy files between machines.\n\nUsage: dmachine scp [OPTIONS] "
               "[[user@]machine:][path] [[user@]machine:][path]\n\n"
               "\"localhost:\" or a path without a machine means this computer; copying from "
               "one machine to another goes through this computer.",
               "dmachine scp"};
  bool recursive = false;
  bool delta = false;
  bool quiet = false;
  std::vector<std::string> paths;
  app.add_flag("-r,--recursive", recursive, "Copy files recursively (required to copy directories)");
  app.add_flag("-d,--delta", delta,
               "Accepted for docker-machine compatibility; files are always copied whole");
  app.add_flag("-q,--quiet", quiet, "Disables the progress meter (dmachine shows none)");
  app.add_option("paths", paths, "Source and destination");
  if (auto early = parse_command_line(app, std::move(args), context.out)) {
    return *early;
  }
  if (paths.size() != 2) {
    return fail(ErrorKind::usage, "Error: Expected 2 arguments: SOURCE DESTINATION");
  }
  auto source_location = parse_scp_location(paths[0]);
  DM_TRY(source_location);
  auto dest_location = parse_scp_location(paths[1]);
  DM_TRY(dest_location);
  if (source_location->machine.empty()) {
    // Checked before any connection: a missing file needs no SSH session to report.
    struct stat info {};
    if (stat(source_location->path.c_str(), &info) != 0) {
      return fail(fmt::format("scp: {}: {}", source_location->path, std::strerror(errno)));
    }
    if (S_ISDIR(info.st_mode) && !recursive) {
      return fail(fmt::format("scp: {}: is a directory (use -r to copy directories)",
                              source_location->path));
    }
  }
  auto source = open_endpoint(context, *source_location);
  DM_TRY(source);
  auto dest = open_endpoint(context, *dest_location);
  DM_TRY(dest);
  DM_TRY(copy(*source, *dest, recursive ? Recursive::yes : Recursive::no));
  return 0;
}

} // namespace dm
