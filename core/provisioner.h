#pragma once
// Engine provisioning: one linear sequence of commands over ONE RemoteShell.
// Detects the OS, installs the Docker engine when missing (an installed one is
// kept), installs the TLS certificates and a systemd drop-in for dockerd, and
// restarts docker.service. Re-running is idempotent.
#include "core/engine_config.h"
#include "core/machine_record.h"
#include "core/progress.h"
#include "core/remote_shell.h"
#include "core/result.h"

#include <optional>
#include <string>
#include <vector>

namespace dm {

struct ProvisionRequest {
  std::string machine_name;
  std::string driver_name;
  int engine_port = 2376;
  EngineOptions engine;
  std::string ca_pem;
  std::string server_cert_pem;
  std::string server_key_pem;
  LiveRestore live_restore = LiveRestore::yes;
};

struct ProvisionReport {
  std::string os_pretty_name;
  std::string engine_state; // "kept" | "installed"
};

Result<ProvisionReport> provision_engine(RemoteShell& shell, const ProvisionRequest& request,
                                         Progress& progress);

// Uploads the certificates, rewrites the drop-in and restarts docker.service
// (regenerate-certs): nothing is installed.
Result<void> install_server_certs(RemoteShell& shell, const ProvisionRequest& request);

// Upgrades the engine packages of the host's OS family and restarts docker.
Result<void> upgrade_engine(RemoteShell& shell, Progress& progress);

// ---- pure helpers (exposed for tests) ----

// What the engine probe command reports about the host.
struct EngineProbe {
  std::string dockerd_path;      // empty: no engine installed
  std::string socket_load_state; // docker.socket's LoadState: loaded, masked, not-found
  bool service_requires_socket = false; // docker.service has Requires=docker.socket
  std::vector<std::string> exec_start_dropins; // docker.service drop-ins setting ExecStart=
  std::optional<std::string> daemon_json; // /etc/docker/daemon.json when it exists
};

// The shell command printing the probe; parse_engine_probe reads its output.
std::string engine_probe_command();
EngineProbe parse_engine_probe(const std::string& out);

// How dockerd gets its unix socket: from docker.socket (-H fd://) when docker.service
// requires a loaded docker.socket, else its own (-H unix://). A required socket that is
// masked or missing is an error: docker.service cannot start at all then.
Result<SocketActivation> choose_socket_activation(const EngineProbe& probe);

// Fails when another drop-in sets ExecStart= and is read after dmachine's (it would win).
Result<void> check_other_dropins(const EngineProbe& probe);

// Fails when daemon.json sets keys that conflict with the drop-in's flags
// (dockerd refuses to start then), naming the keys and the fix.
Result<void> check_daemon_json(const std::string& text, const DockerdConfigInput& input);

// The last lines of a command's output for error messages.
std::string output_tail(const std::string& text, std::size_t max_lines = 25);

} // namespace dm
