#include "core/scp_path.h"

#include "core/machine_record.h"

#include <fmt/format.h>

namespace dm {

Result<ScpLocation> parse_scp_location(const std::string& text) {
  ScpLocation location;
  auto colon = text.find(':');
  auto slash = text.find('/');
  // A colon after the first slash belongs to a local path ("./a:b").
  if (colon == std::string::npos || (slash != std::string::npos && slash < colon)) {
    location.path = text;
    return location;
  }
  std::string host = text.substr(0, colon);
  location.path = text.substr(colon + 1);
  if (auto at = host.find('@'); at != std::string::npos) {
    location.user = host.substr(0, at);
    host = host.substr(at + 1);
  }
  if (host == "localhost") {
    location.user.clear();
    return location;
  }
  if (!is_valid_machine_name(host)) {
    return fail(ErrorKind::usage, fmt::format("\"{}\": \"{}\" is not a machine name", text, host));
  }
  location.machine = host;
  if (location.path.empty()) {
    location.path = "."; // the remote home directory, as with scp
  }
  return location;
}

} // namespace dm
