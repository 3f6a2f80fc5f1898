#include "core/os_release.h"

#include <algorithm>
#include <fmt/format.h>
#include <sstream>

namespace dm {
namespace {

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string::npos) {
    return "";
  }
  const auto last = text.find_last_not_of(" \t\r");
  return text.substr(first, last - first + 1);
}

// Unquotes a value as os-release(5) describes (shell-like quoting).
std::string unquote(const std::string& raw) {
  std::string value;
  char quote = 0;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (quote == 0 && (c == '"' || c == '\'')) {
      quote = c;
    } else if (quote != 0 && c == quote) {
      quote = 0;
    } else if (c == '\\' && quote != '\'' && i + 1 < raw.size()) {
      value += raw[++i];
    } else if (quote == 0 && c == '#') {
      break; // trailing comment after an unquoted value
    } else {
      value += c;
    }
  }
  return trim(value);
}

std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> words;
  std::istringstream in(text);
  std::string word;
  while (in >> word) {
    words.push_back(word);
  }
  return words;
}

constexpr const char* k_apt_lock = "-o DPkg::Lock::Timeout=300";

std::string apt_install() {
  return fmt::format("apt-get update -q {0} && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "
                     "{0} --no-install-recommends docker.io",
                     k_apt_lock);
}

std::string apt_upgrade() {
  return fmt::format(
      "apt-get update -q {0} && if dpkg-query -W -f='${{Status}}' docker-ce 2>/dev/null | grep -q "
      "'ok installed'; then p='docker-ce docker-ce-cli containerd.io'; else p=docker.io; fi && "
      "DEBIAN_FRONTEND=noninteractive apt-get install -y -q {0} --only-upgrade $p",
      k_apt_lock);
}

std::string docker_ce_install(const std::string& repo) {
  return fmt::format("dnf -y install dnf-plugins-core && dnf config-manager --add-repo "
                     "https://download.docker.com/linux/{}/docker-ce.repo && dnf install -y "
                     "docker-ce docker-ce-cli containerd.io",
                     repo);
}

constexpr const char* k_docker_ce_upgrade = "dnf upgrade -y docker-ce docker-ce-cli containerd.io";

} // namespace

Result<OsRelease> parse_os_release(const std::string& text) {
  OsRelease release;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#') {
      continue;
    }
    const auto eq = line.find('=');
    if (eq == std::string::npos) {
      continue; // not an assignment; os-release readers ignore such lines
    }
    const std::string key = trim(line.substr(0, eq));
    const std::string value = unquote(line.substr(eq + 1));
    if (key == "ID") {
      release.id = value;
    } else if (key == "VERSION_ID") {
      release.version_id = value;
    } else if (key == "PRETTY_NAME") {
      release.pretty_name = value;
    } else if (key == "NAME") {
      release.name = value;
    } else if (key == "ID_LIKE") {
      release.id_like = split_words(value);
    }
  }
  if (release.id.empty()) {
    return fail(ErrorKind::unsupported,
                "/etc/os-release has no ID line; dmachine cannot tell which OS this is");
  }
  return release;
}

const std::vector<OsFamily>& os_families() {
  static const std::vector<OsFamily> k_families = {
      {"debian", {"debian", "raspbian"}, PackageManager::apt, apt_install(), apt_upgrade()},
      {"ubuntu", {"ubuntu", "linuxmint", "pop"}, PackageManager::apt, apt_install(), apt_upgrade()},
      {"fedora",
       {"fedora"},
       PackageManager::dnf,
       "dnf install -y moby-engine",
       std::string("if rpm -q docker-ce >/dev/null 2>&1; then ") + k_docker_ce_upgrade +
           "; else dnf upgrade -y moby-engine; fi"},
      {"centos",
       {"centos", "rocky", "almalinux"},
       PackageManager::dnf,
       docker_ce_install("centos"),
       k_docker_ce_upgrade},
      {"rhel", {"rhel"}, PackageManager::dnf, docker_ce_install("rhel"), k_docker_ce_upgrade},
  };
  return k_families;
}

Result<const OsFamily*> match_os_family(const OsRelease& release) {
  const auto& families = os_families();
  auto find = [&](const std::string& id) -> const OsFamily* {
    for (const auto& family : families) {
      if (std::find(family.ids.begin(), family.ids.end(), id) != family.ids.end()) {
        return &family;
      }
    }
    return nullptr;
  };
  if (const auto* family = find(release.id)) {
    return family;
  }
  for (const auto& like : release.id_like) {
    if (const auto* family = find(like)) {
      return family;
    }
  }
  const std::string shown = release.pretty_name.empty() ? release.id : release.pretty_name;
  return fail(ErrorKind::unsupported,
              fmt::format("unsupported OS \"{}\": dmachine knows Debian, Ubuntu, Fedora, CentOS "
                          "Stream, Rocky and AlmaLinux; install Docker yourself (dmachine keeps an "
                          "installed engine) or pass --engine-install-url",
                          shown));
}

const char* to_string(PackageManager manager) {
  switch (manager) {
  case PackageManager::apt:
    return "apt";
  case PackageManager::dnf:
    return "dnf";
  }
  return "?";
}

} // namespace dm
