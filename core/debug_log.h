#pragma once
// --debug (-D) and MACHINE_DEBUG: one line to stderr for each SSH command, HTTP
// request, external program and driver call, with its outcome and duration. Every
// line goes through redact_secrets first; nothing is logged unless enabled.
#include <chrono>
#include <iosfwd>
#include <string>
#include <string_view>

namespace dm {

void enable_debug_log(std::ostream& out);
void disable_debug_log();
[[nodiscard]] bool debug_enabled();
// "[debug] <area>: <text>" (area: ssh, http, run, driver).
void debug_log(std::string_view area, std::string_view text);

// Swarm join tokens, PEM private keys, bearer tokens, SigV4 signatures, session tokens
// and Authorization values are replaced by <redacted>.
std::string redact_secrets(std::string_view text);

// "12 ms" / "1.5 s" since start.
std::string elapsed_since(std::chrono::steady_clock::time_point start);

// A command line for a debug line: redacted, at most ~300 characters, one line.
std::string debug_excerpt(std::string_view command);

} // namespace dm
