#pragma once
// Words an HttpClient transport error ends with, so callers can tell a refused
// connect from a host that no route reaches (e.g. no ARP answer on the local
// network). A timeout is ErrorKind::timeout instead.
#include <string_view>

namespace dm {

inline constexpr std::string_view k_connection_refused = "connection refused";
inline constexpr std::string_view k_host_unreachable = "host unreachable";

} // namespace dm
