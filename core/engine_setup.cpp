#include "core/engine_setup.h"

#include "core/engine_config.h"

#include <algorithm>
#include <fmt/format.h>
#include <fmt/ranges.h>

namespace dm {

namespace {

constexpr int k_engine_wait_seconds = 90;
constexpr const char* k_organization = "dmachine";
constexpr int k_warning_days = 30;

// "<what> expires in N days; <fix>" within k_warning_days of the expiry of the
// certificate at path, "<what> expired; <fix>" after it; "" otherwise or unreadable.
std::string expiry_warning(const std::string& path, const std::string& what,
                           const std::string& fix, std::chrono::system_clock::time_point now) {
  auto pem = read_file(path);
  if (!pem) {
    return "";
  }
  auto expiry = certificate_expiry(*pem);
  if (!expiry) {
    return "";
  }
  const auto hours = std::chrono::duration_cast<std::chrono::hours>(*expiry - now).count();
  if (hours <= 0) {
    return fmt::format("{} expired; {}", what, fix);
  }
  const long days = static_cast<long>(hours / 24);
  if (days >= k_warning_days) {
    return "";
  }
  return fmt::format("{} expires in {} days; {}", what, days, fix);
}

std::vector<std::string> server_sans(const MachineRecord& record, const std::string& ip) {
  std::vector<std::string> sans = {ip, record.name, "localhost"};
  for (const auto& san : record.auth.server_cert_sans) {
    if (std::find(sans.begin(), sans.end(), san) == sans.end()) {
      sans.push_back(san);
    }
  }
  return sans;
}

ProvisionRequest provision_request(const MachineRecord& record, const ServerCert& cert,
                                   const std::string& ca_pem, const EngineSetupDeps& deps) {
  ProvisionRequest request;
  request.machine_name = record.name;
  request.driver_name = record.driver_name;
  request.engine_port = record_engine_port(record);
  request.engine = record.engine;
  request.ca_pem = ca_pem;
  request.server_cert_pem = cert.cert_pem;
  request.server_key_pem = cert.key_pem;
  request.live_restore = deps.live_restore;
  return request;
}

Result<void> wait_for_tls(EngineSetupDeps& deps, const MachineRecord& record, Progress& progress) {
  return run_step(progress, "wait for the engine over TLS", [&]() -> Result<void> {
    return wait_for_engine(
        deps.http,
        machine_engine_endpoint(record, record_ip(record), record_engine_port(record)),
        k_engine_wait_seconds);
  });
}

} // namespace

std::string record_ip(const MachineRecord& record) {
  return record.driver.value("IPAddress", std::string());
}

int record_engine_port(const MachineRecord& record) {
  return record.driver.value("EnginePort", 2376);
}

EngineEndpoint machine_engine_endpoint(const MachineRecord& record, const std::string& ip,
                                       int port) {
  EngineEndpoint endpoint;
  endpoint.url = ip.find(':') != std::string::npos ? fmt::format("tcp://[{}]:{}", ip, port)
                                                   : fmt::format("tcp://{}:{}", ip, port);
  endpoint.ca_cert_path = record.auth.ca_cert_path;
  endpoint.client_cert_path = record.auth.client_cert_path;
  endpoint.client_key_path = record.auth.client_key_path;
  return endpoint;
}

Result<ServerCert> issue_machine_certs(const MachineStore& store, MachineRecord& record,
                                       const std::string& ip, RegenerateClient regenerate) {
  if (ip.empty()) {
    return fail(fmt::format("machine \"{}\" has no IP address to put in its certificate",
                            record.name));
  }
  DM_TRY_CTX(validate_tls_sans(record.auth.server_cert_sans),
             fmt::format("machine \"{}\"", record.name));
  {
    // Parallel creates must not race to make two different CAs.
    auto lock = store.lock_store();
    DM_TRY(lock);
    DM_TRY(ensure_ca_and_client(store.certs_dir(), k_organization, regenerate));
  }
  const auto certs = store.certs_dir();
  auto ca_pem = read_file(certs / "ca.pem");
  DM_TRY(ca_pem);
  auto ca_expiry = certificate_expiry(*ca_pem);
  if (ca_expiry && *ca_expiry <= std::chrono::system_clock::now()) {
    return fail(fmt::format("the store's CA ({}) has expired: no certificate it signs is "
                            "accepted; run 'dmachine regenerate-certs --client-certs {}' (then "
                            "regenerate-certs for every other machine)",
                            (certs / "ca.pem").string(), record.name));
  }
  auto cert = make_server_cert(certs / "ca.pem", certs / "ca-key.pem", server_sans(record, ip),
                               k_organization);
  DM_TRY(cert);
  const auto machine_dir = store.machine_dir(record.name);
  DM_TRY(write_file_atomic(machine_dir / "server.pem", cert->cert_pem, 0644));
  DM_TRY(write_file_atomic(machine_dir / "server-key.pem", cert->key_pem, 0600));
  // DOCKER_CERT_PATH is the machine directory: the client files are copied in.
  for (const auto& [file, mode] : {std::pair{"ca.pem", 0644}, {"cert.pem", 0644}, {"key.pem", 0600}}) {
    auto text = read_file(certs / file);
    DM_TRY(text);
    DM_TRY(write_file_atomic(machine_dir / file, *text, mode));
  }
  record.auth.cert_dir = certs.string();
  record.auth.ca_cert_path = (certs / "ca.pem").string();
  record.auth.ca_private_key_path = (certs / "ca-key.pem").string();
  record.auth.client_cert_path = (certs / "cert.pem").string();
  record.auth.client_key_path = (certs / "key.pem").string();
  record.auth.server_cert_path = (machine_dir / "server.pem").string();
  record.auth.server_key_path = (machine_dir / "server-key.pem").string();
  record.auth.store_path = machine_dir.string();
  return cert;
}

std::string tls_expiry_warning(const MachineRecord& record,
                               std::chrono::system_clock::time_point now) {
  const std::string server = expiry_warning(
      record.auth.server_cert_path, "TLS certificate",
      fmt::format("run 'dmachine regenerate-certs {}'", record.name), now);
  if (!server.empty()) {
    return server;
  }
  return expiry_warning(
      record.auth.ca_cert_path, "TLS CA certificate",
      fmt::format("run 'dmachine regenerate-certs --client-certs {}' (then regenerate-certs for "
                  "every other machine)",
                  record.name),
      now);
}

Result<void> require_store_ca(const MachineStore& store) {
  const auto certs = store.certs_dir();
  for (const char* file : {"ca.pem", "ca-key.pem"}) {
    std::error_code error;
    if (!std::filesystem::exists(certs / file, error)) {
      return fail(fmt::format(
          "the store's CA ({}) is missing: new certificates would need a new CA, and every "
          "machine the old one signed would become unreachable; run 'dmachine regenerate-certs "
          "--client-certs NAME...' to make a new CA on purpose (then every machine of the store "
          "needs 'dmachine regenerate-certs')",
          (certs / file).string()));
    }
  }
  return {};
}

Result<std::vector<std::string>> renew_store_ca(const MachineStore& store,
                                                const std::vector<std::string>& renewing) {
  auto lock = store.lock_store();
  DM_TRY(lock);
  const auto certs = store.certs_dir();
  auto old_ca = read_file(certs / "ca.pem");
  std::vector<std::string> left_behind;
  auto names = store.list_names();
  DM_TRY(names);
  for (const auto& name : *names) {
    if (std::find(renewing.begin(), renewing.end(), name) != renewing.end()) {
      continue;
    }
    auto server_pem = read_file(store.machine_dir(name) / "server.pem");
    if (!server_pem) {
      continue; // no engine certificate (made with --no-provision): nothing to renew
    }
    if (!old_ca || verify_certificate(*server_pem, *old_ca)) {
      left_behind.push_back(name);
    }
  }
  DM_TRY(store.ensure_layout());
  DM_TRY_CTX(ensure_ca_and_client(certs, k_organization, RegenerateClient::yes),
             "renew the store's CA");
  return left_behind;
}

Result<void> setup_engine(RemoteShell& shell, MachineRecord& record, EngineSetupDeps& deps,
                          Progress& progress) {
  ServerCert cert;
  DM_TRY(run_step(progress, "make TLS certificates", [&]() -> Result<void> {
    auto issued = issue_machine_certs(deps.store, record, record_ip(record), RegenerateClient::no);
    DM_TRY(issued);
    cert = std::move(*issued);
    return {};
  }));
  auto ca_pem = read_file(record.auth.ca_cert_path);
  DM_TRY(ca_pem);
  auto report = provision_engine(shell, provision_request(record, cert, *ca_pem, deps), progress);
  DM_TRY(report);
  return wait_for_tls(deps, record, progress);
}

Result<void> rotate_engine_certs(RemoteShell& shell, MachineRecord& record, EngineSetupDeps& deps,
                                 RegenerateClient regenerate, Progress& progress) {
  ServerCert cert;
  DM_TRY(run_step(progress, "make TLS certificates", [&]() -> Result<void> {
    auto issued = issue_machine_certs(deps.store, record, record_ip(record), regenerate);
    DM_TRY(issued);
    cert = std::move(*issued);
    return {};
  }));
  auto ca_pem = read_file(record.auth.ca_cert_path);
  DM_TRY(ca_pem);
  DM_TRY(run_step(progress, "install certificates and restart dockerd", [&]() -> Result<void> {
    return install_server_certs(shell, provision_request(record, cert, *ca_pem, deps));
  }));
  return wait_for_tls(deps, record, progress);
}

} // namespace dm
