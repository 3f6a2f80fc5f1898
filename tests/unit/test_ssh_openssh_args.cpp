#include "ssh/openssh_args.h"

#include <algorithm>
#include <catch2/catch.hpp>

using dm::SshTarget;

namespace {
SshTarget target_in(const std::string& store) {
  SshTarget target;
  target.host = "10.1.2.3";
  target.port = 2222;
  target.user = "docker";
  target.key_path = store + "/machines/m/id_rsa";
  target.known_hosts_path = store + "/machines/m/known_hosts";
  return target;
}

bool contains(const std::vector<std::string>& words, const std::string& word) {
  return std::find(words.begin(), words.end(), word) != words.end();
}
} // namespace

TEST_CASE("openssh argv: pinned known_hosts, strict checking, key, URI destination", "[ssh]") {
  auto argv = dm::openssh_argv(target_in("/s"), {"-L", "8080:localhost:80", "-N"});
  REQUIRE(argv);
  CHECK(argv->front() == "ssh");
  CHECK(contains(*argv, "UserKnownHostsFile=\"/s/machines/m/known_hosts\""));
  CHECK(contains(*argv, "StrictHostKeyChecking=yes"));
  CHECK(contains(*argv, "IdentityFile=\"/s/machines/m/id_rsa\""));
  CHECK(contains(*argv, "IdentitiesOnly=yes"));
  // The destination can never be an option; the user's words follow it, as docker-machine's.
  auto destination = std::find(argv->begin(), argv->end(), "ssh://docker@10.1.2.3:2222");
  REQUIRE(destination != argv->end());
  CHECK(std::vector<std::string>(destination + 1, argv->end()) ==
        std::vector<std::string>{"-L", "8080:localhost:80", "-N"});
  CHECK_FALSE(contains(*argv, "--"));
}

TEST_CASE("openssh argv: store paths with spaces and metacharacters stay one value", "[ssh]") {
  auto argv = dm::openssh_argv(target_in("/tmp/my store/it's \"x\" 100%;$(id)\\"), {});
  REQUIRE(argv);
  CHECK(contains(*argv,
                 "UserKnownHostsFile=\"/tmp/my store/it's \\\"x\\\" 100%%;$(id)\\\\/machines/m/"
                 "known_hosts\""));
  auto expanded = dm::openssh_argv(target_in("/tmp/${HOME}"), {});
  REQUIRE_FALSE(expanded);
  CHECK(expanded.error().message.find("${") != std::string::npos);
  CHECK_FALSE(dm::openssh_argv(target_in("/tmp/new\nline"), {}));
}

TEST_CASE("openssh argv: option-looking or odd hosts and users are refused", "[ssh]") {
  auto target = target_in("/s");
  target.host = "-oProxyCommand=id";
  CHECK_FALSE(dm::openssh_argv(target, {}));
  target.host = "a b";
  CHECK_FALSE(dm::openssh_argv(target, {}));
  target = target_in("/s");
  target.user = "-x";
  CHECK_FALSE(dm::openssh_argv(target, {}));
  target.user = "a@b";
  CHECK_FALSE(dm::openssh_argv(target, {}));
  target = target_in("/s");
  target.host = "fd00::5";
  auto v6 = dm::openssh_argv(target, {});
  REQUIRE(v6);
  CHECK(contains(*v6, "ssh://docker@[fd00::5]:2222"));
}

TEST_CASE("sshfs argv: ssh options escaped for sshfs's -o, port and location", "[ssh]") {
  auto argv = dm::sshfs_argv(target_in("/tmp/a,b\\c"), "/srv/data", "/mnt/x");
  REQUIRE(argv);
  CHECK(argv->front() == "sshfs");
  CHECK(contains(*argv, "2222"));
  CHECK(contains(*argv, "UserKnownHostsFile=\"/tmp/a\\,b\\\\\\\\c/machines/m/known_hosts\""));
  CHECK(contains(*argv, "StrictHostKeyChecking=yes"));
  CHECK((*argv)[argv->size() - 2] == "docker@10.1.2.3:/srv/data");
  CHECK(argv->back() == "/mnt/x");
}
