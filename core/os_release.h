#pragma once
// /etc/os-release parsing and the table of OS families dmachine can install
// the Docker engine on. Distro differences are rows of the table.
#include "core/result.h"

#include <string>
#include <vector>

namespace dm {

struct OsRelease {
  std::string id;
  std::string version_id;
  std::string pretty_name;
  std::string name;
  std::vector<std::string> id_like;
};

// Parses os-release(5) text: KEY=value lines, values optionally quoted
// (single or double, with backslash escapes in double quotes); comments and
// blank lines are skipped. Fails when there is no ID.
Result<OsRelease> parse_os_release(const std::string& text);

enum class PackageManager { apt, dnf };

struct OsFamily {
  std::string name;
  std::vector<std::string> ids;
  PackageManager package_manager;
  std::string install_command; // installs the engine from packages (run as root)
  std::string upgrade_command; // upgrades the installed engine packages (run as root)
};

// The ordered table of known families.
const std::vector<OsFamily>& os_families();

// First row whose ids contain ID, then rows matching an ID_LIKE entry (in the
// order ID_LIKE lists them); else ErrorKind::unsupported.
Result<const OsFamily*> match_os_family(const OsRelease& release);

const char* to_string(PackageManager manager);

} // namespace dm
