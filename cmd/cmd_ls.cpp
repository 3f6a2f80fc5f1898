// dmachine ls: every machine's state, queried in parallel with a per-host
// timeout; filtering and rendering are pure functions in core/machine_list.
#include "cmd/commands.h"
#include "cmd/machine_status.h"
#include "core/machine_list.h"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <ostream>
#include <thread>

namespace dm {

namespace {

// Rows filled by the workers; a row still unfinished at the deadline stays Timeout.
struct Collection {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<LsRow> rows;
  size_t remaining = 0;
  bool past_deadline = false;
};

} // namespace

Result<int> cmd_ls(CommandContext& context, std::vector<std::string> args) {
  CLI::App app{"List machines.\n\nUsage: dmachine ls [OPTIONS]", "dmachine ls"};
  bool quiet = false;
  std::vector<std::string> filters;
  int timeout_seconds = 10;
  std::string format;
  app.add_flag("-q,--quiet", quiet, "Enable quiet mode");
  app.add_option("--filter", filters,
                 "Filter output based on conditions provided (driver, state, name, label, swarm)");
  app.add_option("-t,--timeout", timeout_seconds, "Timeout in seconds, default to 10s");
  app.add_option("-f,--format", format, "Pretty-print machines using a Go template, or \"json\"");
  if (auto early = parse_command_line(app, std::move(args), context.out)) {
    return *early;
  }
  auto parsed_filters = parse_ls_filters(filters);
  DM_TRY(parsed_filters);
  if (!format.empty() && !quiet) {
    DM_TRY(check_ls_format(format)); // before any worker thread exists
  }

  std::vector<StoreEntry> entries = context.store.load_all();
  Collection collection;
  collection.remaining = entries.size();
  for (const auto& entry : entries) {
    collection.rows.push_back(timeout_row(entry));
  }
  const char* docker_host_env = std::getenv("DOCKER_HOST");
  const std::string docker_host = docker_host_env != nullptr ? docker_host_env : "";
  // At most 16 hosts are queried at once. Each query is bounded by its own
  // timeouts; a row not finished by the deadline is printed as Timeout.
  std::atomic<size_t> next{0};
  std::vector<std::thread> workers;
  for (size_t w = 0; w < std::min<size_t>(16, entries.size()); ++w) {
    workers.emplace_back([&] {
      for (size_t i = next.fetch_add(1); i < entries.size(); i = next.fetch_add(1)) {
        LsRow row = status_row(context, entries[i], docker_host, timeout_seconds);
        std::lock_guard<std::mutex> lock(collection.mutex);
        if (!collection.past_deadline) {
          collection.rows[i] = std::move(row);
        }
        --collection.remaining;
        collection.changed.notify_all();
      }
    });
  }
  std::vector<LsRow> rows;
  {
    std::unique_lock<std::mutex> lock(collection.mutex);
    collection.changed.wait_for(lock, std::chrono::seconds(std::max(1, timeout_seconds)),
                                [&] { return collection.remaining == 0; });
    collection.past_deadline = true;
    rows = collection.rows;
  }
  rows = filter_rows(rows, *parsed_filters);
  if (quiet) {
    context.out << render_ls_quiet(rows);
  } else if (format.empty()) {
    context.out << render_ls_table(rows);
  } else {
    auto rendered = render_ls_format(rows, format);
    if (!rendered) {
      for (auto& worker : workers) {
        worker.join(); // a joinable thread must not be destroyed (std::terminate)
      }
      return fail(rendered.error());
    }
    context.out << *rendered;
  }
  context.out.flush();
  for (auto& worker : workers) {
    worker.join(); // bounded: every query has its own timeout
  }
  return 0;
}

} // namespace dm
