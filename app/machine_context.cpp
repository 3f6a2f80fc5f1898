#include "app/machine_context.h"

#include "core/docker_context.h"
#include "core/engine_setup.h"
#include "core/machine_store.h"

#include <fmt/format.h>
#include <ostream>

namespace dm {

namespace {

Result<std::filesystem::path> config_dir_or_fail() {
  auto dir = docker_config_dir();
  if (dir.empty()) {
    return fail("docker context: neither $DOCKER_CONFIG nor $HOME is set");
  }
  return dir;
}

} // namespace

std::string machine_context_name(const std::string& machine) {
  return machine == "default" ? "dmachine-default" : machine;
}

Result<void> register_machine_context(AppContext& context, const MachineRecord& record) {
  auto config_dir = config_dir_or_fail();
  DM_TRY(config_dir);
  const std::string ip = record_ip(record);
  if (ip.empty()) {
    return fail(fmt::format("docker context: machine \"{}\" has no IP address", record.name));
  }
  // The store's own CA and client certificate, never paths from the (untrusted) record.
  const auto certs = context.store.certs_dir();
  DockerContextSpec spec;
  spec.name = machine_context_name(record.name);
  spec.description = fmt::format("dmachine machine \"{}\" ({} driver)", record.name,
                                 record.driver_name);
  spec.host = machine_engine_endpoint(record, ip, record_engine_port(record)).url;
  spec.store = context.store.root().string();
  auto ca = read_file(certs / "ca.pem");
  DM_TRY_CTX(ca, "docker context");
  auto cert = read_file(certs / "cert.pem");
  DM_TRY_CTX(cert, "docker context");
  auto key = read_file(certs / "key.pem");
  DM_TRY_CTX(key, "docker context");
  spec.ca_pem = *ca;
  spec.cert_pem = *cert;
  spec.key_pem = *key;
  return write_docker_context(*config_dir, spec);
}

Result<void> refresh_machine_context(AppContext& context, const MachineRecord& record) {
  auto config_dir = config_dir_or_fail();
  DM_TRY(config_dir);
  if (docker_context_owner(*config_dir, machine_context_name(record.name),
                           context.store.root().string()) != ContextOwner::dmachine) {
    return {};
  }
  return register_machine_context(context, record);
}

void refresh_machine_contexts(AppContext& context, const std::vector<std::string>& machines) {
  for (const auto& name : machines) {
    auto record = context.store.load(name);
    if (!record) {
      continue; // the command itself reports machines it could not read
    }
    if (auto refreshed = refresh_machine_context(context, *record); !refreshed) {
      context.err << fmt::format("Warning: docker context of \"{}\" not updated: {}\n", name,
                                 refreshed.error().message);
    }
  }
}

Result<void> unregister_machine_context(AppContext& context, const std::string& machine) {
  auto config_dir = config_dir_or_fail();
  DM_TRY(config_dir);
  auto removed =
      remove_docker_context(*config_dir, machine_context_name(machine), context.store.root().string());
  DM_TRY(removed);
  return {};
}

} // namespace dm
