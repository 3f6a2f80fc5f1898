#include "core/scp_path.h"

#include <catch2/catch.hpp>

using dm::parse_scp_location;

TEST_CASE("scp locations: local, machine, user@machine, localhost", "[scp]") {
  auto local = parse_scp_location("/tmp/file");
  REQUIRE(local);
  CHECK(local->machine.empty());
  CHECK(local->path == "/tmp/file");

  auto remote = parse_scp_location("web1:/etc/hosts");
  REQUIRE(remote);
  CHECK(remote->machine == "web1");
  CHECK(remote->user.empty());
  CHECK(remote->path == "/etc/hosts");

  auto with_user = parse_scp_location("bob@web1:notes.txt");
  REQUIRE(with_user);
  CHECK(with_user->machine == "web1");
  CHECK(with_user->user == "bob");
  CHECK(with_user->path == "notes.txt");

  auto home = parse_scp_location("web1:");
  REQUIRE(home);
  CHECK(home->path == ".");

  auto this_computer = parse_scp_location("localhost:/tmp/x");
  REQUIRE(this_computer);
  CHECK(this_computer->machine.empty());
  CHECK(this_computer->path == "/tmp/x");

  auto relative_with_colon = parse_scp_location("./a:b");
  REQUIRE(relative_with_colon);
  CHECK(relative_with_colon->machine.empty());
  CHECK(relative_with_colon->path == "./a:b");
}

TEST_CASE("scp locations: an invalid machine name is refused", "[scp]") {
  auto bad = parse_scp_location("-x:/tmp");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("is not a machine name") != std::string::npos);
}
