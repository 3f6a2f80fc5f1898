#pragma once
// What every workflow gets: the global options, the store and the real I/O
// implementations (processes, HTTP, SSH shells), and where to print.
#include "core/http_client.h"
#include "core/machine_store.h"
#include "core/process_runner.h"
#include "core/remote_shell.h"

#include <iosfwd>
#include <string>

namespace dm {

struct GlobalOptions {
  std::string storage_path;
  bool debug = false;
  bool native_ssh = false;
  std::string tls_ca_cert;
  std::string tls_ca_key;
  std::string tls_client_cert;
  std::string tls_client_key;
};

struct AppContext {
  GlobalOptions globals;
  MachineStore store;
  ProcessRunner& process_runner;
  HttpClient& http_client;
  ShellFactory open_shell;
  std::ostream& out; // results (eval-safe)
  std::ostream& err; // progress and errors
};

} // namespace dm
