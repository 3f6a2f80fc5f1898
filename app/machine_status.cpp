#include "app/machine_status.h"

#include "core/engine_setup.h"
#include "drivers/registry.h"

#include <fmt/format.h>
#include <map>

namespace dm {

namespace {

// A warning when the machine's server certificate or its CA expires soon (or has expired).
std::string certificate_warning(const MachineRecord& record) {
  return tls_expiry_warning(record, std::chrono::system_clock::now());
}

// What to ask about one machine, or the row's final state when nothing can be asked.
struct Plan {
  StateQuery query;
  std::string url;            // tcp://IP:PORT when the driver knows the IP
  std::optional<Error> error; // the row is Error with this reason; nothing is asked
};

Plan plan_for(const MachineRecord& record, Driver& driver) {
  Plan plan;
  auto ip = driver.ip();
  if (ip) {
    plan.url = engine_url(*ip, driver.engine_port());
    // Machines made with --no-provision have no engine to ask.
    std::error_code missing;
    if (std::filesystem::exists(record.auth.server_cert_path, missing)) {
      plan.query.engine = machine_engine_endpoint(record, *ip, driver.engine_port());
    }
  }
  if (driver.state_check() == StateCheck::local) {
    auto state = driver.state();
    if (!state) {
      plan.error = state.error();
      return plan;
    }
    plan.query.known_state = *state;
    if (*state == MachineState::running && !ip) {
      plan.error = ip.error(); // a note on a Running row
    }
    return plan;
  }
  auto target = driver.ssh_target();
  if (!target) {
    plan.error = target.error();
    return plan;
  }
  plan.query.ssh_host = target->host;
  plan.query.ssh_port = target->port;
  return plan;
}

// Machines whose drivers share a batch key (cloud machines of one account and region)
// learn their states in one question through the first of them.
void learn_states_in_batches(const std::vector<std::unique_ptr<Driver>>& drivers) {
  std::map<std::string, std::vector<Driver*>> batches;
  for (const auto& driver : drivers) {
    if (driver) {
      if (std::string key = driver->state_batch_key(); !key.empty()) {
        batches[key].push_back(driver.get());
      }
    }
  }
  for (auto& [key, members] : batches) {
    members.front()->learn_states(members);
  }
}

void append_error(LsRow& row, const std::string& note) {
  if (!note.empty()) {
    row.error = row.error.empty() ? note : row.error + "; " + note;
  }
}

} // namespace

std::string engine_url(const std::string& ip, int port) {
  if (ip.find(':') != std::string::npos) {
    return fmt::format("tcp://[{}]:{}", ip, port);
  }
  return fmt::format("tcp://{}:{}", ip, port);
}

LsRow record_row(const StoreEntry& entry) {
  LsRow row;
  row.name = entry.name;
  if (!entry.record) {
    row.state = "Error";
    row.error = entry.record.error().message;
    return row;
  }
  row.driver_name = entry.record->driver_name;
  row.labels = entry.record->engine.labels;
  return row;
}

std::vector<LsRow> status_rows(AppContext& context, const std::vector<StoreEntry>& entries,
                               const std::string& docker_host, int timeout_seconds) {
  std::vector<LsRow> rows;
  std::vector<Plan> plans(entries.size());
  std::vector<size_t> asked; // indexes of entries whose plan is queried
  std::vector<StateQuery> queries;
  std::vector<std::unique_ptr<Driver>> drivers(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    rows.push_back(record_row(entries[i]));
    if (!entries[i].record) {
      continue;
    }
    auto driver = make_machine_driver(context, *entries[i].record);
    if (!driver) {
      rows[i].state = "Error";
      rows[i].error = driver.error().message;
      continue;
    }
    drivers[i] = std::move(*driver);
  }
  learn_states_in_batches(drivers);
  for (size_t i = 0; i < entries.size(); ++i) {
    if (!drivers[i]) {
      continue;
    }
    const MachineRecord& record = *entries[i].record;
    plans[i] = plan_for(record, *drivers[i]);
    if (plans[i].error && plans[i].query.known_state == MachineState::none) {
      rows[i].state = "Error";
      rows[i].error = plans[i].error->message;
      continue;
    }
    asked.push_back(i);
    queries.push_back(plans[i].query);
  }
  auto batch = context.http_client.batch();
  auto answers = query_states(*batch, queries, query_budget(timeout_seconds));
  for (size_t k = 0; k < asked.size(); ++k) {
    size_t i = asked[k];
    apply_state_answer(rows[i], answers[k], plans[i].url, docker_host);
    if (plans[i].error) {
      append_error(rows[i], plans[i].error->message);
    }
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].record) {
      append_error(rows[i], certificate_warning(*entries[i].record));
    }
  }
  return rows;
}

StateAnswer machine_state(AppContext& context, LoadedMachine& machine, int timeout_seconds) {
  Plan plan = plan_for(machine.record, *machine.driver);
  if (plan.error && plan.query.known_state == MachineState::none) {
    return StateAnswer{MachineState::error, "", plan.error->message, 0};
  }
  if (plan.query.known_state != MachineState::none) {
    // A local check needs no engine question: status prints the state only.
    return StateAnswer{plan.query.known_state, "", "", 0};
  }
  auto batch = context.http_client.batch();
  auto answers = query_states(*batch, {plan.query}, query_budget(timeout_seconds));
  return answers.front();
}

} // namespace dm
