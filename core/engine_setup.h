#pragma once
// The engine half of create/provision/regenerate-certs for one machine: TLS
// material (store CA under the store lock, a server certificate for the
// machine), provisioning over one shell, and the TLS /_ping that proves it.
#include "core/certs.h"
#include "core/engine_api.h"
#include "core/machine_store.h"
#include "core/progress.h"
#include "core/provisioner.h"

#include <chrono>

namespace dm {

struct EngineSetupDeps {
  const MachineStore& store;
  HttpClient& http;
  LiveRestore live_restore = LiveRestore::yes;
};

// Where a machine's engine listens and the client TLS files that reach it.
EngineEndpoint machine_engine_endpoint(const MachineRecord& record, const std::string& ip, int port);

// The machine's IP and engine port as its record stores them ("Driver" keys).
std::string record_ip(const MachineRecord& record);
int record_engine_port(const MachineRecord& record);

// Makes (if missing) the store CA and client certificate, then a new server
// certificate for the machine; writes server.pem/server-key.pem and the
// DOCKER_CERT_PATH copies (ca.pem, cert.pem, key.pem) into the machine dir.
Result<ServerCert> issue_machine_certs(const MachineStore& store, MachineRecord& record,
                                       const std::string& ip, RegenerateClient regenerate);

// create/provision: certificates, provisioning, then a TLS ping from this side.
Result<void> setup_engine(RemoteShell& shell, MachineRecord& record, EngineSetupDeps& deps,
                          Progress& progress);

// For ls: a warning, with the command to run, when the machine's server certificate
// or the CA that signed it (every machine it signed then fails) expires within 30
// days or has expired; "" otherwise.
std::string tls_expiry_warning(const MachineRecord& record,
                               std::chrono::system_clock::time_point now);

// Fails, naming the fix, when the store has no CA: a new one would leave every
// machine the old one signed unreachable (regenerate-certs without --client-certs).
Result<void> require_store_ca(const MachineStore& store);

// regenerate-certs --client-certs: makes the store's CA and client certificate
// again, once, under the store lock. Returns the machines other than `renewing`
// that still have a server certificate from the old CA (every other machine with
// a server certificate when there was no old CA): they need regenerate-certs too.
Result<std::vector<std::string>> renew_store_ca(const MachineStore& store,
                                                const std::vector<std::string>& renewing);

// regenerate-certs: new server certificate (and CA/client with regenerate yes),
// uploaded; dockerd restarted without reinstalling anything.
Result<void> rotate_engine_certs(RemoteShell& shell, MachineRecord& record, EngineSetupDeps& deps,
                                 RegenerateClient regenerate, Progress& progress);

} // namespace dm
