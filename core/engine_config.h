#pragma once
// Pure rendering of the dockerd configuration: a systemd drop-in for
// docker.service that replaces ExecStart with dmachine's flags.
#include "core/machine_record.h"
#include "core/result.h"

#include <string>
#include <string_view>
#include <vector>

namespace dm {

enum class SocketActivation { no, yes }; // docker.service gets its socket from docker.socket: -H fd://
enum class LiveRestore { no, yes };

// docker-machine's own paths: a host it provisioned is taken over by overwriting
// its drop-in and certificates, so exactly one drop-in sets ExecStart=.
constexpr const char* k_dockerd_dropin_dir = "/etc/systemd/system/docker.service.d";
constexpr const char* k_dockerd_dropin_name = "10-machine.conf";
constexpr const char* k_dockerd_dropin_path = "/etc/systemd/system/docker.service.d/10-machine.conf";
constexpr const char* k_engine_cert_dir = "/etc/docker";
// Where dmachine before issue 9 put them; removed by every provision and regenerate-certs.
constexpr const char* k_legacy_dropin_path = "/etc/systemd/system/docker.service.d/10-dmachine.conf";
constexpr const char* k_legacy_cert_dir = "/etc/docker/dmachine";

struct DockerdConfigInput {
  std::string dockerd_path;
  SocketActivation socket_activation = SocketActivation::no;
  int port = 2376;
  std::string driver_name;
  EngineOptions options;
  std::string cert_dir = k_engine_cert_dir;
  LiveRestore live_restore = LiveRestore::yes;
};

// One word of an ExecStart= line: %→%%, $→$$; double-quoted (with \ and "
// escaped) when it has whitespace, quotes, backslashes, ';' or is empty.
std::string systemd_quote_exec_word(std::string_view word);

// The argument of Environment=: always double-quoted, %→%%, \ and " escaped.
std::string systemd_quote_environment(std::string_view assignment);

// The drop-in text, ending with a newline.
std::string render_dockerd_dropin(const DockerdConfigInput& input);

// Engine options as dockerd's command line and Environment= can hold them: no
// control characters anywhere, "flag=value" / "key=value" / "NAME=VALUE" shapes,
// no blanks or quotes in registries, mirrors, DNS, storage driver, log level or
// install URL. Errors name the create flag and quote the value.
Result<void> validate_engine_options(const EngineOptions& engine);
// --tls-san values: a host name or IP each (no blanks, quotes or control characters).
Result<void> validate_tls_sans(const std::vector<std::string>& sans);

} // namespace dm
