#pragma once
// A bounded TCP probe: connect, and optionally read the first line the server
// sends (an SSH banner). Used to tell whether a host answers without logging in.
#include "core/result.h"

#include <string>

namespace dm {

enum class ProbeOutcome { answered, refused, unreachable, timed_out };

struct ProbeResult {
  ProbeOutcome outcome = ProbeOutcome::unreachable;
  std::string first_line; // the banner, when answered
  std::string detail;     // why it did not answer
};

// Never fails: every way of not answering is an outcome. host may be IPv4, IPv6 or a name.
enum class ReadFirstLine { no, yes };
ProbeResult probe_tcp(const std::string& host, int port, int timeout_ms, ReadFirstLine read);

// A TCP port free on 127.0.0.1 now (bound and released: a hypervisor's forward binds it next).
Result<int> free_local_port();

} // namespace dm
