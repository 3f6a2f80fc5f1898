#include "cmd/machine_status.h"

#include "core/engine_setup.h"
#include "drivers/registry.h"

#include <fmt/format.h>

namespace dm {

namespace {

constexpr int k_expiry_warning_days = 30;

// A warning when the machine's server certificate expires soon (or has expired).
std::string certificate_warning(const MachineRecord& record) {
  auto pem = read_file(record.auth.server_cert_path);
  if (!pem) {
    return "";
  }
  auto expiry = certificate_expiry(*pem);
  if (!expiry) {
    return "";
  }
  auto left = std::chrono::duration_cast<std::chrono::hours>(*expiry -
                                                              std::chrono::system_clock::now());
  long days = left.count() / 24;
  if (days >= k_expiry_warning_days) {
    return "";
  }
  if (left.count() <= 0) {
    return fmt::format("TLS certificate expired; run 'dmachine regenerate-certs {}'", record.name);
  }
  return fmt::format("TLS certificate expires in {} days; run 'dmachine regenerate-certs {}'",
                     days, record.name);
}

} // namespace

std::string engine_url(const std::string& ip, int port) {
  if (ip.find(':') != std::string::npos) {
    return fmt::format("tcp://[{}]:{}", ip, port);
  }
  return fmt::format("tcp://{}:{}", ip, port);
}

LsRow timeout_row(const StoreEntry& entry) {
  LsRow row;
  row.name = entry.name;
  row.active = "-";
  row.state = "Timeout";
  row.docker_version = "Unknown";
  if (entry.record) {
    row.driver_name = entry.record->driver_name;
  }
  return row;
}

LsRow status_row(CommandContext& context, const StoreEntry& entry, const std::string& docker_host,
                 int timeout_seconds) {
  auto started = std::chrono::steady_clock::now();
  LsRow row = timeout_row(entry);
  if (!entry.record) {
    row.state = "Error";
    row.error = entry.record.error().message;
    return row;
  }
  const MachineRecord& record = *entry.record;
  for (const auto& label : record.engine.labels) {
    row.labels.push_back(label);
  }
  auto made = make_machine_driver(context, record);
  if (!made) {
    row.state = "Error";
    row.error = made.error().message;
    return row;
  }
  auto& driver = *made;
  auto state = driver->state();
  if (!state) {
    row.state = "Error";
    row.error = state.error().message;
    return row;
  }
  row.state = std::string(to_string(*state));
  if (*state == MachineState::running) {
    auto ip = driver->ip();
    if (ip) {
      row.url = engine_url(*ip, driver->engine_port());
      if (!docker_host.empty() && docker_host == row.url) {
        row.active = "*";
      }
    } else {
      row.error = ip.error().message;
    }
    // Machines made with --no-provision have no engine to ask.
    std::error_code missing;
    if (ip && std::filesystem::exists(record.auth.server_cert_path, missing)) {
      auto version = engine_version(
          context.http_client, machine_engine_endpoint(record, *ip, driver->engine_port()),
          std::max(1, timeout_seconds));
      if (version) {
        row.docker_version = "v" + *version;
      } else if (row.error.empty()) {
        row.error = version.error().message;
      }
    }
  }
  if (std::string warning = certificate_warning(record); !warning.empty()) {
    row.error = row.error.empty() ? warning : row.error + "; " + warning;
  }
  row.response_time_ms = static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                              std::chrono::steady_clock::now() - started)
                                              .count());
  return row;
}

} // namespace dm
