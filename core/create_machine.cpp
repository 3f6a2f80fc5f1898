#include "core/create_machine.h"

#include "core/engine_config.h"
#include "core/interrupt.h"

#include <fmt/format.h>

namespace dm {

namespace {

Result<void> check_interrupted() {
  if (interrupted()) {
    return fail(ErrorKind::interrupted, "interrupted");
  }
  return {};
}

// Undoes a partly made machine: the driver's resources, then the store entry.
class CreateRollback {
public:
  CreateRollback(const CreateDeps& deps, const CreateRequest& request)
      : m_deps(deps), m_request(request) {}
  CreateRollback(const CreateRollback&) = delete;
  CreateRollback& operator=(const CreateRollback&) = delete;

  void driver_created() { m_driver_created = true; }
  void commit() { m_committed = true; }

  ~CreateRollback() {
    if (m_committed) {
      return;
    }
    if (m_request.keep_on_failure == KeepOnFailure::yes) {
      m_deps.progress.note(fmt::format(
          "Keeping the partly created machine \"{}\" for inspection (--keep-on-failure); "
          "remove it with: dmachine rm -f {}",
          m_request.name, m_request.name));
      return;
    }
    CleanupScope cleaning; // even after Ctrl-C: nothing may be left half-made
    m_deps.progress.note(fmt::format("Removing the partly created machine \"{}\"", m_request.name));
    if (m_driver_created) {
      auto removed = m_deps.driver.remove();
      if (!removed) {
        m_deps.progress.note("cleanup: " + removed.error().message);
      }
    }
    auto dir_removed = m_deps.store.remove_machine_dir(m_request.name);
    if (!dir_removed) {
      m_deps.progress.note("cleanup: " + dir_removed.error().message);
    }
  }

private:
  const CreateDeps& m_deps;
  const CreateRequest& m_request;
  bool m_driver_created = false;
  bool m_committed = false;
};

// A step of create: interruptible before and after.
Result<void> create_step(Progress& progress, const std::string& name,
                         const std::function<Result<void>()>& body) {
  DM_TRY(check_interrupted());
  DM_TRY(run_step(progress, name, body));
  return check_interrupted();
}

} // namespace

Result<void> check_create_request(const MachineStore& store, const CreateRequest& request) {
  if (!is_valid_machine_name(request.name)) {
    return fail(ErrorKind::usage,
                "Error creating machine: " + invalid_machine_name_message(request.name));
  }
  if (store.exists(request.name)) {
    return fail(ErrorKind::already_exists,
                fmt::format("Docker machine \"{}\" already exists", request.name));
  }
  DM_TRY(validate_engine_options(request.engine));
  DM_TRY(validate_tls_sans(request.tls_sans));
  return {};
}

Result<MachineRecord> create_machine(CreateDeps& deps, const CreateRequest& request) {
  DM_TRY(check_create_request(deps.store, request));
  DM_TRY(deps.store.ensure_layout());
  auto lock = deps.store.lock_machine(request.name);
  DM_TRY(lock);
  DM_TRY(deps.store.create_machine_dir(request.name));
  CreateRollback rollback(deps, request);

  const auto machine_dir = deps.store.machine_dir(request.name);
  MachineRecord record =
      new_machine_record(request.name, request.driver_name, deps.store.root().string());
  record.engine = request.engine;
  record.auth.server_cert_sans = request.tls_sans;
  for (const auto& [key, value] : request.record_extra.items()) {
    record.extra[key] = value;
  }

  DM_TRY(create_step(deps.progress, "generate SSH key", [&]() -> Result<void> {
    return deps.generate_key(machine_dir / "id_rsa", "dmachine-" + request.name);
  }));
  DM_TRY(create_step(deps.progress, "pre-create check", [&]() -> Result<void> {
    // A bad driver option is a failed pre-create check too (exit 3), whichever
    // driver found it.
    auto checked = deps.driver.set_options(request.driver_options);
    if (checked) {
      checked = deps.driver.pre_create_check();
    }
    if (!checked) {
      Error error = checked.error();
      if (error.kind != ErrorKind::interrupted) {
        error.kind = ErrorKind::precreate;
      }
      return fail(error);
    }
    record.driver = deps.driver.config();
    // Written before the infrastructure exists, so that even a killed create
    // leaves a record that `rm -f` can clean up from.
    return deps.store.save(record);
  }));

  DM_TRY(create_step(deps.progress, "create machine (" + request.driver_name + ")",
                  [&]() -> Result<void> {
                    rollback.driver_created(); // remove() must run even for a partial create
                    DM_TRY(deps.driver.create());
                    record.driver = deps.driver.config();
                    return deps.store.save(record);
                  }));

  std::unique_ptr<RemoteShell> shell;
  DM_TRY(create_step(deps.progress, "wait for SSH and pin the host key", [&]() -> Result<void> {
    auto target = deps.driver.ssh_target();
    DM_TRY(target);
    if (target->known_hosts_path.empty()) {
      target->known_hosts_path = machine_dir / "known_hosts";
    }
    auto opened = deps.open_shell(*target);
    DM_TRY(opened);
    shell = std::move(*opened);
    return {};
  }));

  if (request.provision == ProvisionEngine::yes) {
    DM_TRY_CTX(deps.setup_engine(*shell, record, deps.progress),
               fmt::format("machine \"{}\"", request.name));
    DM_TRY(deps.store.save(record));
  }
  DM_TRY(check_interrupted());
  rollback.commit();
  return record;
}

} // namespace dm
