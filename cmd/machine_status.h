#pragma once
// Gathers what `ls` shows about one machine: driver state, URL, engine version,
// and problems worth a note in ERRORS.
#include "cmd/cli.h"
#include "core/machine_list.h"

namespace dm {

// The row shown for a machine whose query did not finish in time.
LsRow timeout_row(const StoreEntry& entry);
// Queries one machine; every step is bounded by timeout_seconds.
LsRow status_row(CommandContext& context, const StoreEntry& entry, const std::string& docker_host,
                 int timeout_seconds);
// tcp://IP:PORT, with IPv6 addresses in brackets.
std::string engine_url(const std::string& ip, int port);

} // namespace dm
