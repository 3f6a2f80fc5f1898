#pragma once
// Parses scp arguments of the form [[user@]machine:]path. "localhost:" and a
// path without a colon are local; "C:\x"-like paths are not a concern on Linux.
#include "core/result.h"

#include <string>

namespace dm {

struct ScpLocation {
  std::string machine; // empty: this computer
  std::string user;    // empty: the machine's SSH user
  std::string path;
};

Result<ScpLocation> parse_scp_location(const std::string& text);

} // namespace dm
