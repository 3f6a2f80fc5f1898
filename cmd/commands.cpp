#include "cmd/commands.h"

#include <algorithm>

namespace dm {

const std::vector<CommandEntry>& command_table() {
  static const std::vector<CommandEntry> table = {
      {"active", "Print which machine is active", cmd_active},
      {"cluster", "Create and operate Docker swarm-mode clusters of machines", cmd_cluster},
      {"completion", "Print a shell completion script (bash, zsh, fish)", cmd_completion},
      {"config", "Print the connection config for machine", cmd_config},
      {"create", "Create a machine", cmd_create},
      {"env", "Display the commands to set up the environment for the Docker client", cmd_env},
      {"inspect", "Inspect information about a machine", cmd_inspect},
      {"ip", "Get the IP address of a machine", cmd_ip},
      {"kill", "Kill a machine", cmd_kill},
      {"ls", "List machines", cmd_ls},
      {"mount", "Mount or unmount a directory from a machine with SSHFS", cmd_mount},
      {"provision", "Re-provision existing machines", cmd_provision},
      {"regenerate-certs", "Regenerate TLS Certificates for a machine", cmd_regenerate_certs},
      {"restart", "Restart a machine", cmd_restart},
      {"rm", "Remove a machine", cmd_rm},
      {"scp", "Copy files between machines", cmd_scp},
      {"ssh", "Log into or run a command on a machine with SSH", cmd_ssh},
      {"start", "Start a machine", cmd_start},
      {"status", "Get the status of a machine", cmd_status},
      {"stop", "Stop a machine", cmd_stop},
      {"upgrade", "Upgrade a machine's Docker engine", cmd_upgrade},
      {"url", "Get the URL of a machine", cmd_url},
      {"use", "Make a machine's docker context the current one (-u: the default)", cmd_use},
      {"version", "Show the dmachine version or a machine's Docker version", cmd_version},
  };
  return table;
}

const CommandEntry* find_command(const std::string& name) {
  const auto& table = command_table();
  auto it = std::find_if(table.begin(), table.end(),
                         [&](const CommandEntry& entry) { return entry.name == name; });
  return it == table.end() ? nullptr : &*it;
}

namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) {
    row[j] = j;
  }
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

} // namespace

std::string suggest_command(const std::string& name) {
  std::string best;
  size_t best_distance = 3; // further than two edits is no suggestion
  for (const auto& entry : command_table()) {
    size_t distance = edit_distance(name, entry.name);
    if (distance < best_distance) {
      best_distance = distance;
      best = entry.name;
    }
  }
  return best;
}

} // namespace dm
