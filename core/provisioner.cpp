#include "core/provisioner.h"

#include "core/os_release.h"
#include "core/shell_quote.h"

#include <algorithm>
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
constexpr int k_restart_timeout = 120;
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
    std::string command;
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
    command += fmt::format("rm -rf {}", shell_quote(m_stage_dir));
    DM_TRY(run_checked(command, k_short_timeout));
    return {};
  }

  RemoteShell& m_shell;
  Privilege m_privilege = Privilege::root;
  std::string m_user;
  std::string m_stage_dir;
  std::string m_os_release_text;
};

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
      host.m_stage_dir = trim(sudo->out);
      if (host.m_stage_dir.rfind("/tmp/dmachine.", 0) != 0) {
        return fail(fmt::format("run \"{}\": unexpected output: {}", command,
                                output_tail(sudo->out)));
      }
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

std::string hostname_command(const std::string& name) {
  const std::string n = shell_quote(name);
  return fmt::format(
      "{{ hostnamectl set-hostname {0} 2>/dev/null || hostname {0}; }} && echo {0} > "
      "/etc/hostname && {{ grep -qx '127.0.1.1 {1}' /etc/hosts || {{ if grep -q "
      "'^127\\.0\\.1\\.1[[:space:]]' /etc/hosts; then sed -i 's/^127\\.0\\.1\\.1[[:space:]].*/127.0.1.1 "
      "{1}/' /etc/hosts; else echo '127.0.1.1 {1}' >> /etc/hosts; fi; }}; }} && mkdir -p -m 0755 {2} "
      "/etc/systemd/system/docker.service.d",
      n, name, k_engine_cert_dir);
}

std::string restart_command() {
  return "systemctl daemon-reload || exit 1; systemctl enable docker.service >/dev/null 2>&1; "
         "if systemctl restart docker.service; then i=0; while [ $i -lt 30 ]; do if systemctl "
         "is-active --quiet docker.service; then exit 0; fi; i=$((i+1)); sleep 1; done; echo "
         "\"docker.service is not active 30 s after its restart\" >&2; fi; journalctl -u "
         "docker.service -n 20 --no-pager >&2; exit 1";
}

Result<void> restart_docker(Host& host, Progress& progress) {
  return in_step(progress, "Restarting docker.service", [&]() -> Result<void> {
    DM_TRY_CTX(host.run_checked(restart_command(), k_restart_timeout,
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

std::string install_url_command(const std::string& url) {
  const std::string script = "/tmp/dmachine-engine-install.sh";
  return fmt::format("if command -v curl >/dev/null 2>&1; then curl -fsSL {0} -o {1}; else wget -qO "
                     "{1} {0}; fi && sh {1}; rc=$?; rm -f {1}; exit $rc",
                     shell_quote(url), script);
}

} // namespace

std::string engine_probe_command() {
  return "PATH=\"$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"; echo "
         "\"dockerd=$(command -v dockerd)\"; if systemctl cat docker.socket >/dev/null 2>&1; then "
         "echo socket=yes; else echo socket=no; fi; if [ -f /etc/docker/daemon.json ]; then echo "
         "daemon.json:; cat /etc/docker/daemon.json; fi";
}

EngineProbe parse_engine_probe(const std::string& out) {
  EngineProbe probe;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.rfind("dockerd=", 0) == 0) {
      probe.dockerd_path = line.substr(8);
    } else if (line == "socket=yes") {
      probe.socket_activation = SocketActivation::yes;
    } else if (line == "socket=no") {
      probe.socket_activation = SocketActivation::no;
    } else if (line == "daemon.json:") {
      std::string rest((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      probe.daemon_json = rest;
      break;
    }
  }
  return probe;
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

  DM_TRY_CTX(in_step(progress, fmt::format("Setting the hostname to {}", request.machine_name),
                     [&]() -> Result<void> {
                       DM_TRY_CTX(host.run_checked(hostname_command(request.machine_name),
                                                   k_short_timeout),
                                  "set hostname");
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

  DockerdConfigInput config;
  config.dockerd_path = probe.dockerd_path;
  config.socket_activation = probe.socket_activation;
  config.port = request.engine_port;
  config.driver_name = request.driver_name;
  config.options = request.engine;
  config.live_restore = request.live_restore;

  DM_TRY_CTX(in_step(progress, "Installing certificates and the dockerd configuration",
                     [&]() -> Result<void> {
                       if (probe.daemon_json) {
                         DM_TRY_CTX(check_daemon_json(*probe.daemon_json, config),
                                    "configure dockerd");
                       }
                       auto files = cert_files(request);
                       files.push_back({render_dockerd_dropin(config), k_dockerd_dropin_path, 0644});
                       DM_TRY_CTX(host.write_files(files), "install certificates and configuration");
                       return {};
                     }),
             "provision");

  DM_TRY_CTX(restart_docker(host, progress), "provision");
  return report;
}

Result<void> install_server_certs(RemoteShell& shell, const ProvisionRequest& request) {
  std::ostream quiet(nullptr);
  Progress progress(quiet, ProgressStyle::plain);
  Host host(shell);
  DM_TRY_CTX(open_session(host, progress, Staging::needed), "install certificates");
  if (host.m_privilege == Privilege::root) {
    DM_TRY_CTX(host.run_checked(fmt::format("mkdir -p -m 0755 {}", k_engine_cert_dir),
                                k_short_timeout),
               "install certificates");
  }
  DM_TRY_CTX(host.write_files(cert_files(request)), "install certificates");
  DM_TRY_CTX(restart_docker(host, progress), "install certificates");
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
  DM_TRY_CTX(restart_docker(host, progress), "upgrade");
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
