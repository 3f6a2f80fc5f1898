#include "core/provisioner.h"

#include "core/os_release.h"
#include "core/shell_quote.h"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>
#include <vector>

namespace dm {
namespace {

constexpr int k_short_timeout = 60;
constexpr int k_install_timeout = 600;
// A VM booting under emulation (qemu/virtualbox without KVM) may still be starting dockerd
// when SSH answers: systemctl restart waits for that start job first (3-6 min seen under TCG).
constexpr int k_restart_timeout = 600;
constexpr int k_lock_attempts = 5;

enum class Privilege { root, sudo };
enum class Staging { none, needed };

struct RemoteFile {
  std::string data;
  std::string path;
  int mode = 0644;
};

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    lines.push_back(line);
  }
  return lines;
}

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) {
    return "";
  }
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

std::string octal(int mode) { return fmt::format("{:04o}", mode); }

// The host as seen through one RemoteShell: runs commands as root (directly
// or through "sudo -n"), with timeouts and error messages naming the command.
class Host {
public:
  explicit Host(RemoteShell& shell) : m_shell(shell) {}
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;
  // A failed step must not leave the staging directory (it may hold the
  // server key) behind: best effort, the user owns it.
  ~Host() {
    if (!m_stage_dir.empty()) {
      ExecOptions options;
      options.timeout_seconds = k_short_timeout;
      (void)m_shell.exec("rm -rf " + shell_quote(m_stage_dir), options);
    }
  }

  // The command line actually sent: as is for root, else via sudo -n sh -c.
  [[nodiscard]] std::string wrap(const std::string& command) const {
    if (m_privilege == Privilege::root) {
      return command;
    }
    return "sudo -n sh -c " + shell_quote(command);
  }

  // Runs a command as root; a non-zero exit status is returned, not an error.
  Result<ExecResult> run(const std::string& command, int timeout_seconds,
                         const std::string& display = "") {
    ExecOptions options;
    options.timeout_seconds = timeout_seconds;
    auto result = m_shell.exec(wrap(command), options);
    if (!result) {
      return fail(result.error().with_context(
          fmt::format("run \"{}\"", display.empty() ? command : display)));
    }
    return result;
  }

  // Runs a command as root; a non-zero exit status is an error with the tail
  // of its output.
  Result<ExecResult> run_checked(const std::string& command, int timeout_seconds,
                                 const std::string& display = "") {
    auto result = run(command, timeout_seconds, display);
    if (!result) {
      return result;
    }
    if (result->exit_status != 0) {
      return fail(failure_message(display.empty() ? command : display, *result));
    }
    return result;
  }

  static std::string failure_message(const std::string& command, const ExecResult& result) {
    const std::string& output = trim(result.err).empty() ? result.out : result.err;
    std::string tail = output_tail(output);
    return fmt::format("run \"{}\": exit {}{}{}", command, result.exit_status,
                       tail.empty() ? "" : ": ", tail);
  }

  // Writes files as root with their modes, each atomically. Root uploads
  // directly; otherwise the files are uploaded into the user's staging
  // directory and moved into place with one sudo command. Contents never
  // appear on a command line.
  Result<void> write_files(const std::vector<RemoteFile>& files) {
    if (m_privilege == Privilege::root) {
      for (const auto& file : files) {
        DM_TRY_CTX(m_shell.upload(file.data, file.path, file.mode),
                   fmt::format("upload {}", file.path));
      }
      return {};
    }
    // The trap removes the staging directory whether the moves succeed or not.
    std::string command = fmt::format("trap 'rm -rf {}' EXIT; ", m_stage_dir);
    std::vector<std::string> made_dirs;
    for (std::size_t i = 0; i < files.size(); ++i) {
      const auto& file = files[i];
      const std::string staged = fmt::format("{}/{}", m_stage_dir, i);
      DM_TRY_CTX(m_shell.upload(file.data, staged, file.mode), fmt::format("upload {}", staged));
      const auto slash = file.path.rfind('/');
      const std::string dir = slash == std::string::npos ? "." : file.path.substr(0, slash);
      const std::string temp = file.path + ".dmachine-new";
      if (std::find(made_dirs.begin(), made_dirs.end(), dir) == made_dirs.end()) {
        made_dirs.push_back(dir);
        command += fmt::format("mkdir -p -m 0755 {} && ", shell_quote(dir));
      }
      command += fmt::format("install -m {} {} {} && mv -f {} {} && ", octal(file.mode),
                             shell_quote(staged), shell_quote(temp), shell_quote(temp),
                             shell_quote(file.path));
    }
    command += "true";
    auto moved = run_checked(command, k_short_timeout);
    m_stage_dir.clear(); // removed by the trap (as root) either way
    DM_TRY(moved);
    return {};
  }

  RemoteShell& m_shell;
  Privilege m_privilege = Privilege::root;
  std::string m_user;
  std::string m_stage_dir;
  std::string m_os_release_text;
};

// mktemp's answer, checked: it is used in the trap of a root command.
bool is_stage_dir(const std::string& dir) {
  const std::string prefix = "/tmp/dmachine.";
  if (dir.rfind(prefix, 0) != 0 || dir.size() == prefix.size()) {
    return false;
  }
  return std::all_of(dir.begin() + static_cast<std::ptrdiff_t>(prefix.size()), dir.end(),
                     [](unsigned char c) { return std::isalnum(c) != 0; });
}

template <typename F> auto in_step(Progress& progress, const std::string& name, F&& body) {
  progress.step(name);
  auto result = body();
  if (result) {
    progress.done();
  } else {
    progress.failed();
  }
  return result;
}

bool is_lock_failure(const ExecResult& result) {
  for (const auto* marker : {"Could not get lock", "Unable to acquire the dpkg frontend lock",
                             "Unable to lock directory", "is another process using it"}) {
    if (result.err.find(marker) != std::string::npos ||
        result.out.find(marker) != std::string::npos) {
      return true;
    }
  }
  return false;
}

// Who we are and which OS this is, in one command; for a non-root user also
// checks passwordless sudo (and makes a private staging directory).
Result<void> open_session(Host& host, Progress& progress, Staging staging) {
  return in_step(progress, "Checking access to the host", [&]() -> Result<void> {
    auto result = host.run_checked("id -u && id -un && cat /etc/os-release", k_short_timeout);
    if (!result) {
      return fail(result.error().with_context("check the user and OS"));
    }
    auto lines = split_lines(result->out);
    if (lines.size() < 2) {
      return fail(fmt::format("check the user and OS: unexpected output of \"id -u && id -un\": {}",
                              output_tail(result->out)));
    }
    host.m_user = trim(lines[1]);
    const auto first_newline = result->out.find('\n');
    const auto second_newline = result->out.find('\n', first_newline + 1);
    host.m_os_release_text =
        second_newline == std::string::npos ? "" : result->out.substr(second_newline + 1);
    if (trim(lines[0]) == "0") {
      host.m_privilege = Privilege::root;
      return {};
    }
    std::string command = "sudo -n true";
    if (staging == Staging::needed) {
      command += " && mktemp -d /tmp/dmachine.XXXXXX";
    }
    ExecOptions options;
    options.timeout_seconds = k_short_timeout;
    auto sudo = host.m_shell.exec(command, options);
    if (!sudo) {
      return fail(sudo.error().with_context(fmt::format("run \"{}\"", command)));
    }
    if (sudo->exit_status != 0) {
      const std::string said = output_tail(sudo->err.empty() ? sudo->out : sudo->err, 3);
      const bool asked_password = said.find("password") != std::string::npos;
      return fail(fmt::format(
          "user \"{0}\" needs passwordless sudo on the host ({1}); add \"{0} ALL=(ALL) "
          "NOPASSWD:ALL\" to /etc/sudoers.d/ or use root",
          host.m_user,
          asked_password ? std::string("sudo asked for a password")
                         : fmt::format("\"sudo -n true\" failed: {}", said)));
    }
    host.m_privilege = Privilege::sudo;
    if (staging == Staging::needed) {
      const std::string dir = trim(sudo->out);
      if (!is_stage_dir(dir)) {
        return fail(fmt::format("run \"{}\": unexpected output: {}", command,
                                output_tail(sudo->out)));
      }
      host.m_stage_dir = dir;
    }
    return {};
  });
}

Result<const OsFamily*> detect_os(Host& host, std::string& pretty_name) {
  auto release = parse_os_release(host.m_os_release_text);
  if (!release) {
    return fail(release.error().with_context("detect OS"));
  }
  pretty_name = release->pretty_name.empty() ? release->id : release->pretty_name;
  auto family = match_os_family(*release);
  if (!family) {
    return fail(family.error().with_context("detect OS"));
  }
  return *family;
}

// Runs a package-manager command, retrying (bounded) while another process
// holds the apt/dpkg lock.
Result<void> run_package_command(Host& host, const std::string& command,
                                 const std::string& display) {
  std::string to_run = command;
  for (int attempt = 1;; ++attempt) {
    auto result = host.run(to_run, k_install_timeout, display);
    if (!result) {
      return fail(result.error());
    }
    if (result->exit_status == 0) {
      return {};
    }
    if (is_lock_failure(*result) && attempt < k_lock_attempts) {
      to_run = "sleep 15; " + command;
      continue;
    }
    std::string message = Host::failure_message(display, *result);
    if (is_lock_failure(*result)) {
      message += fmt::format(" (the package manager stayed locked by another process through {} "
                             "attempts; wait for it to finish and run the command again)",
                             k_lock_attempts);
    }
    return fail(message);
  }
}

// docker-machine's way (hostname, then /etc/hostname): hostnamectl only where there is
// no hostname(1), since it starts systemd-hostnamed (and dbus) on every machine.
std::string hostname_command(const std::string& name) {
  const std::string n = shell_quote(name);
  return fmt::format(
      "{{ hostname {0} 2>/dev/null || hostnamectl set-hostname {0}; }} && echo {0} > "
      "/etc/hostname && {{ grep -qx '127.0.1.1 {1}' /etc/hosts || {{ if grep -q "
      "'^127\\.0\\.1\\.1[[:space:]]' /etc/hosts; then sed -i 's/^127\\.0\\.1\\.1[[:space:]].*/127.0.1.1 "
      "{1}/' /etc/hosts; else echo '127.0.1.1 {1}' >> /etc/hosts; fi; }}; }} && mkdir -p -m 0755 {2} "
      "/etc/systemd/system/docker.service.d",
      n, name, k_engine_cert_dir);
}

enum class LegacyLayout { keep, remove };

// dmachine before issue 9 wrote its own drop-in and certificate directory: once
// ours is in docker-machine's place, they go (the restart then reads one drop-in).
std::string restart_command(LegacyLayout legacy) {
  std::string prefix;
  if (legacy == LegacyLayout::remove) {
    prefix = fmt::format("rm -f {} && rm -rf {} || exit 1; ", k_legacy_dropin_path,
                         k_legacy_cert_dir);
  }
  return prefix +
         "systemctl daemon-reload || exit 1; systemctl enable docker.service >/dev/null 2>&1; "
         "if systemctl restart docker.service; then i=0; while [ $i -lt 30 ]; do if systemctl "
         "is-active --quiet docker.service; then exit 0; fi; i=$((i+1)); sleep 1; done; echo "
         "\"docker.service is not active 30 s after its restart\" >&2; fi; journalctl -u "
         "docker.service -n 20 --no-pager >&2; exit 1";
}

Result<void> restart_docker(Host& host, Progress& progress, LegacyLayout legacy) {
  return in_step(progress, "Restarting docker.service", [&]() -> Result<void> {
    DM_TRY_CTX(host.run_checked(restart_command(legacy), k_restart_timeout,
                                "systemctl restart docker.service"),
               "restart docker");
    return {};
  });
}

std::vector<RemoteFile> cert_files(const ProvisionRequest& request) {
  const std::string dir = k_engine_cert_dir;
  return {
      {request.ca_pem, dir + "/ca.pem", 0644},
      {request.server_cert_pem, dir + "/server.pem", 0644},
      {request.server_key_pem, dir + "/server-key.pem", 0600},
  };
}

Result<EngineProbe> probe_engine(Host& host) {
  auto result = host.run_checked(engine_probe_command(), k_short_timeout, "probe the engine");
  if (!result) {
    return fail(result.error());
  }
  return parse_engine_probe(result->out);
}

// The script goes to a fresh private file (mktemp), removed however it ends.
std::string install_url_command(const std::string& url) {
  return fmt::format("f=$(mktemp /tmp/dmachine-install.XXXXXX) || exit 1; trap 'rm -f \"$f\"' "
                     "EXIT; if command -v curl >/dev/null 2>&1; then curl -fsSL {0} -o \"$f\"; "
                     "else wget -qO \"$f\" {0}; fi && sh \"$f\"",
                     shell_quote(url));
}

// The dockerd configuration for the engine the probe found, or why it cannot
// work on this host; checked before anything on the host changes.
Result<DockerdConfigInput> dockerd_config_for(const ProvisionRequest& request,
                                              const EngineProbe& probe) {
  if (probe.dockerd_path.empty()) {
    return fail("no Docker engine (dockerd) is installed on the host; run 'dmachine provision' "
                "to install one");
  }
  DockerdConfigInput config;
  config.dockerd_path = probe.dockerd_path;
  config.port = request.engine_port;
  config.driver_name = request.driver_name;
  config.options = request.engine;
  config.live_restore = request.live_restore;
  auto activation = choose_socket_activation(probe);
  DM_TRY_CTX(activation, "configure dockerd");
  config.socket_activation = *activation;
  DM_TRY_CTX(check_other_dropins(probe), "configure dockerd");
  if (probe.daemon_json) {
    DM_TRY_CTX(check_daemon_json(*probe.daemon_json, config), "configure dockerd");
  }
  return config;
}

// Certificates and the drop-in for the engine the probe found, then a restart:
// the part provision and regenerate-certs share.
Result<void> configure_engine(Host& host, const ProvisionRequest& request,
                              const EngineProbe& probe, Progress& progress) {
  DM_TRY(in_step(progress, "Installing certificates and the dockerd configuration",
                 [&]() -> Result<void> {
                   auto config = dockerd_config_for(request, probe);
                   DM_TRY(config);
                   auto files = cert_files(request);
                   files.push_back({render_dockerd_dropin(*config), k_dockerd_dropin_path, 0644});
                   DM_TRY_CTX(host.write_files(files), "install certificates and configuration");
                   return {};
                 }));
  return restart_docker(host, progress, LegacyLayout::remove);
}

std::string basename_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

} // namespace

std::string engine_probe_command() {
  return "PATH=\"$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"; echo "
         "\"dockerd=$(command -v dockerd)\"; systemctl show -p LoadState docker.socket "
         "2>/dev/null | sed -n 's/^LoadState=/socket=/p'; systemctl show -p Requires "
         "docker.service 2>/dev/null | sed -n 's/^Requires=/requires=/p'; for f in "
         "/etc/systemd/system/docker.service.d/*.conf /run/systemd/system/docker.service.d/*.conf "
         "/usr/lib/systemd/system/docker.service.d/*.conf; do if [ -f \"$f\" ] && grep -q "
         "'^[[:space:]]*ExecStart[[:space:]]*=' \"$f\"; then echo \"execstart=$f\"; fi; done; if "
         "[ -f /etc/docker/daemon.json ]; then echo daemon.json:; cat /etc/docker/daemon.json; fi";
}

EngineProbe parse_engine_probe(const std::string& out) {
  EngineProbe probe;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.rfind("dockerd=", 0) == 0) {
      probe.dockerd_path = line.substr(8);
    } else if (line.rfind("socket=", 0) == 0) {
      probe.socket_load_state = line.substr(7);
    } else if (line.rfind("requires=", 0) == 0) {
      std::istringstream units(line.substr(9));
      std::string unit;
      while (units >> unit) {
        if (unit == "docker.socket") {
          probe.service_requires_socket = true;
        }
      }
    } else if (line.rfind("execstart=", 0) == 0) {
      probe.exec_start_dropins.push_back(line.substr(10));
    } else if (line == "daemon.json:") {
      std::string rest((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      probe.daemon_json = rest;
      break;
    }
  }
  return probe;
}

Result<SocketActivation> choose_socket_activation(const EngineProbe& probe) {
  if (!probe.service_requires_socket) {
    return SocketActivation::no;
  }
  if (probe.socket_load_state == "loaded") {
    return SocketActivation::yes;
  }
  const std::string state = probe.socket_load_state.empty() ? "unknown" : probe.socket_load_state;
  return fail(fmt::format(
      "docker.service requires docker.socket (Requires=docker.socket), but docker.socket is {}, "
      "so docker.service cannot start; {} or give docker.service a unit of its own without "
      "Requires=docker.socket (systemctl edit --full docker.service), then provision again",
      state,
      state == "masked" ? "unmask it (systemctl unmask docker.socket)"
                        : "install docker.socket"));
}

Result<void> check_other_dropins(const EngineProbe& probe) {
  // systemd reads the drop-ins of all directories sorted by file name; the last
  // ExecStart= wins.
  std::vector<std::string> later;
  for (const auto& path : probe.exec_start_dropins) {
    if (basename_of(path) > std::string(k_dockerd_dropin_name) &&
        std::find(later.begin(), later.end(), path) == later.end()) {
      later.push_back(path);
    }
  }
  if (later.empty()) {
    return {};
  }
  return fail(fmt::format(
      "{} set{} ExecStart= for docker.service and {} read after dmachine's {}, so dockerd would "
      "not get dmachine's TLS flags; move {} settings to /etc/docker/daemon.json or remove {}, "
      "then provision again",
      fmt::join(later, ", "), later.size() == 1 ? "s" : "", later.size() == 1 ? "is" : "are",
      k_dockerd_dropin_path, later.size() == 1 ? "its" : "their",
      later.size() == 1 ? "it" : "them"));
}

Result<void> check_daemon_json(const std::string& text, const DockerdConfigInput& input) {
  if (trim(text).empty()) {
    return {};
  }
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return fail(fmt::format("/etc/docker/daemon.json is not valid JSON ({}); dockerd would not "
                            "start; fix or remove it",
                            e.what()));
  }
  if (!doc.is_object()) {
    return fail("/etc/docker/daemon.json is not a JSON object; dockerd would not start; fix or "
                "remove it");
  }
  std::vector<std::string> keys = {"hosts", "tls", "tlsverify", "tlscacert", "tlscert", "tlskey"};
  if (input.live_restore == LiveRestore::yes) {
    keys.emplace_back("live-restore");
  }
  if (!input.options.storage_driver.empty()) {
    keys.emplace_back("storage-driver");
  }
  if (!input.options.graph_dir.empty()) {
    keys.emplace_back("data-root");
    keys.emplace_back("graph");
  }
  if (!input.options.log_level.empty()) {
    keys.emplace_back("log-level");
  }
  std::vector<std::string> found;
  for (const auto& key : keys) {
    if (doc.contains(key)) {
      found.push_back("\"" + key + "\"");
    }
  }
  if (found.empty()) {
    return {};
  }
  return fail(fmt::format(
      "/etc/docker/daemon.json sets {}, which dmachine sets as dockerd flags in {} (dockerd refuses "
      "to start when a setting is both a flag and in daemon.json{}); remove {} from "
      "/etc/docker/daemon.json and provision again",
      fmt::join(found, ", "), k_dockerd_dropin_path,
      doc.contains("hosts") ? "; \"hosts\" conflicts with -H" : "",
      found.size() == 1 ? "it" : "them"));
}

Result<ProvisionReport> provision_engine(RemoteShell& shell, const ProvisionRequest& request,
                                         Progress& progress) {
  // The record is untrusted: refuse what the hostname step or the unit cannot hold
  // before anything on the host changes.
  if (!is_machine_dir_name(request.machine_name)) {
    return fail(ErrorKind::usage, "provision: " + invalid_machine_name_message(request.machine_name));
  }
  DM_TRY_CTX(validate_engine_options(request.engine), "provision");
  Host host(shell);
  ProvisionReport report;
  DM_TRY_CTX(open_session(host, progress, Staging::needed), "provision");

  const OsFamily* family = nullptr;
  DM_TRY_CTX(in_step(progress, "Detecting the operating system",
                     [&]() -> Result<void> {
                       auto detected = detect_os(host, report.os_pretty_name);
                       if (!detected) {
                         return fail(detected.error());
                       }
                       family = *detected;
                       return {};
                     }),
             "provision");

  EngineProbe probe;
  DM_TRY_CTX(in_step(progress, "Checking for an installed Docker engine",
                     [&]() -> Result<void> {
                       auto probed = probe_engine(host);
                       if (!probed) {
                         return fail(probed.error().with_context("check the engine"));
                       }
                       probe = *probed;
                       if (probe.dockerd_path.empty()) {
                         return {};
                       }
                       // An installed engine this host cannot run with dmachine's
                       // configuration fails here, before the host is changed.
                       auto config = dockerd_config_for(request, probe);
                       if (!config) {
                         return fail(config.error());
                       }
                       return {};
                     }),
             "provision");

  DM_TRY_CTX(in_step(progress, fmt::format("Setting the hostname to {}", request.machine_name),
                     [&]() -> Result<void> {
                       DM_TRY_CTX(host.run_checked(hostname_command(request.machine_name),
                                                   k_short_timeout),
                                  "set hostname");
                       return {};
                     }),
             "provision");

  if (!probe.dockerd_path.empty()) {
    report.engine_state = "kept";
    progress.note(fmt::format("Keeping the installed Docker engine ({})", probe.dockerd_path));
  } else {
    report.engine_state = "installed";
    const bool from_url = !request.engine.install_url.empty();
    const std::string command =
        from_url ? install_url_command(request.engine.install_url) : family->install_command;
    const std::string display = from_url
                                    ? fmt::format("curl -fsSL {} | sh", request.engine.install_url)
                                    : family->install_command;
    const std::string title =
        from_url ? fmt::format("Installing the Docker engine from {}", request.engine.install_url)
                 : fmt::format("Installing the Docker engine ({})", to_string(family->package_manager));
    DM_TRY_CTX(in_step(progress, title,
                       [&]() -> Result<void> {
                         DM_TRY_CTX(run_package_command(host, command, display),
                                    "install the engine");
                         auto probed = probe_engine(host);
                         if (!probed) {
                           return fail(probed.error().with_context("install the engine"));
                         }
                         probe = *probed;
                         if (probe.dockerd_path.empty()) {
                           return fail(fmt::format(
                               "install the engine: \"{}\" succeeded but dockerd is still not "
                               "installed; install Docker yourself or pass --engine-install-url",
                               display));
                         }
                         return {};
                       }),
               "provision");
  }

  DM_TRY_CTX(configure_engine(host, request, probe, progress), "provision");
  return report;
}

Result<void> install_server_certs(RemoteShell& shell, const ProvisionRequest& request) {
  std::ostream quiet(nullptr);
  Progress progress(quiet, ProgressStyle::plain);
  Host host(shell);
  DM_TRY_CTX(open_session(host, progress, Staging::needed), "install certificates");
  if (host.m_privilege == Privilege::root) {
    DM_TRY_CTX(host.run_checked(fmt::format("mkdir -p -m 0755 {} {}", k_engine_cert_dir,
                                            k_dockerd_dropin_dir),
                                k_short_timeout),
               "install certificates");
  }
  auto probe = probe_engine(host);
  DM_TRY_CTX(probe, "install certificates: check the engine");
  DM_TRY_CTX(configure_engine(host, request, *probe, progress), "install certificates");
  return {};
}

Result<void> upgrade_engine(RemoteShell& shell, Progress& progress) {
  Host host(shell);
  DM_TRY_CTX(open_session(host, progress, Staging::none), "upgrade");
  std::string pretty_name;
  auto family = detect_os(host, pretty_name);
  if (!family) {
    return fail(family.error().with_context("upgrade"));
  }
  const OsFamily* row = *family;
  DM_TRY_CTX(in_step(progress,
                     fmt::format("Upgrading the Docker engine ({})", to_string(row->package_manager)),
                     [&]() -> Result<void> {
                       DM_TRY_CTX(run_package_command(host, row->upgrade_command,
                                                      row->upgrade_command),
                                  "upgrade the engine");
                       return {};
                     }),
             "upgrade");
  DM_TRY_CTX(restart_docker(host, progress, LegacyLayout::keep), "upgrade");
  return {};
}

std::string output_tail(const std::string& text, std::size_t max_lines) {
  auto lines = split_lines(trim(text));
  std::string tail;
  const std::size_t first = lines.size() > max_lines ? lines.size() - max_lines : 0;
  for (std::size_t i = first; i < lines.size(); ++i) {
    if (!tail.empty()) {
      tail += '\n';
    }
    tail += lines[i];
  }
  return tail;
}

} // namespace dm
