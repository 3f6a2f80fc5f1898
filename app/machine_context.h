#pragma once
// A machine's docker context (core/docker_context.h): registered by create, kept in
// step by regenerate-certs and start, removed by rm, made current by `use`.
#include "app/app_context.h"
#include "core/machine_record.h"

#include <string>
#include <vector>

namespace dm {

// The context name of a machine: its own name, except "default" (the docker CLI's
// built-in context), which becomes "dmachine-default".
std::string machine_context_name(const std::string& machine);

// Writes the machine's context (endpoint tcp://IP:PORT, the store's CA and client
// certificate). A context of that name that this store did not make is left alone:
// the error says so.
Result<void> register_machine_context(AppContext& context, const MachineRecord& record);
// Rewrites the context when this store made one for the machine; otherwise nothing.
Result<void> refresh_machine_context(AppContext& context, const MachineRecord& record);
// refresh_machine_context for each machine of the store (after start, provision,
// regenerate-certs: the IP or the certificates may have changed); failures are
// warnings on context.err, never errors of the command.
void refresh_machine_contexts(AppContext& context, const std::vector<std::string>& machines);
// Removes the machine's context when this store made it (and resets currentContext
// if it named it).
Result<void> unregister_machine_context(AppContext& context, const std::string& machine);

} // namespace dm
