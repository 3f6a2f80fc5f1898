#pragma once
// The engine half of create/provision/regenerate-certs for one machine: TLS
// material (store CA under the store lock, a server certificate for the
// machine), provisioning over one shell, and the TLS /_ping that proves it.
#include "core/certs.h"
#include "core/engine_api.h"
#include "core/machine_store.h"
#include "core/progress.h"
#include "core/provisioner.h"

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

// regenerate-certs: new server certificate (and CA/client with regenerate yes),
// uploaded; dockerd restarted without reinstalling anything.
Result<void> rotate_engine_certs(RemoteShell& shell, MachineRecord& record, EngineSetupDeps& deps,
                                 RegenerateClient regenerate, Progress& progress);

} // namespace dm
