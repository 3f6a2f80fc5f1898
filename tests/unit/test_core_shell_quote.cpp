#include "core/shell_quote.h"

#include <catch2/catch.hpp>

TEST_CASE("shell_quote leaves safe words alone and quotes the rest", "[quote]") {
  CHECK(dm::shell_quote("/etc/docker/ca.pem") == "/etc/docker/ca.pem");
  CHECK(dm::shell_quote("a b") == "'a b'");
  CHECK(dm::shell_quote("") == "''");
  CHECK(dm::shell_quote("it's") == "'it'\\''s'");
  CHECK(dm::shell_quote("$(reboot)") == "'$(reboot)'");
}
