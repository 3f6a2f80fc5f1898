#pragma once
// Gathers what `ls` and `status` show about machines: the rows the store alone
// gives, and every machine's state asked at once (core/state_query.h).
#include "app/machines.h"
#include "core/machine_list.h"

namespace dm {

// NAME, DRIVER and labels from the record; an unreadable record is an Error row with the reason.
LsRow record_row(const StoreEntry& entry);
// Rows in the entries' order; the whole query is bounded by timeout_seconds, and
// an unreachable machine costs about 2 s whatever their number.
std::vector<LsRow> status_rows(AppContext& context, const std::vector<StoreEntry>& entries,
                               const std::string& docker_host, int timeout_seconds);
// status NAME: the same check for one machine.
StateAnswer machine_state(AppContext& context, LoadedMachine& machine, int timeout_seconds);
// tcp://IP:PORT, with IPv6 addresses in brackets.
std::string engine_url(const std::string& ip, int port);

} // namespace dm
