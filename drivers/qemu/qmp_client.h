#pragma once
// A QMP client for QEMU's monitor socket: greeting, qmp_capabilities, then one command; events
// are skipped. Every read and write is bounded by a timeout; replies are untrusted JSON.
#include "core/result.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace dm::qemu {

enum class QmpQuit { no, yes }; // yes: a closed socket before the reply counts as done

// The "return" value of command (an error reply is an error with QMP's description).
Result<nlohmann::json> qmp_execute(const std::filesystem::path& socket, const std::string& command,
                                   int timeout_seconds = 10, QmpQuit quit = QmpQuit::no);

// Splits a QMP stream into messages. Pure: used by the client and its tests.
struct QmpReader {
  std::string buffer; // bytes read and not yet consumed
  // The first complete non-event message (complete = true), consuming the lines up to it;
  // complete = false when no full line is left. A line that is no JSON object is an error.
  Result<nlohmann::json> next_message(bool& complete);
};

} // namespace dm::qemu
