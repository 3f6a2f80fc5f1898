#include "core/engine_config.h"

#include <catch2/catch.hpp>

namespace {

dm::DockerdConfigInput base_input() {
  dm::DockerdConfigInput input;
  input.dockerd_path = "/usr/sbin/dockerd";
  input.socket_activation = dm::SocketActivation::yes;
  input.port = 2376;
  input.driver_name = "generic";
  input.live_restore = dm::LiveRestore::yes;
  return input;
}

// docker-machine's certificate paths: scripts and docs rely on them.
const std::string k_tls = "--tlsverify --tlscacert /etc/docker/ca.pem --tlscert "
                          "/etc/docker/server.pem --tlskey /etc/docker/server-key.pem";

} // namespace

TEST_CASE("drop-in with socket activation and defaults", "[engine_config]") {
  CHECK(dm::render_dockerd_dropin(base_input()) ==
        "[Service]\nExecStart=\nExecStart=/usr/sbin/dockerd -H fd:// -H tcp://0.0.0.0:2376 " +
            k_tls + " --label provider=generic --live-restore\n");
}

TEST_CASE("drop-in without socket activation listens on the unix socket", "[engine_config]") {
  auto input = base_input();
  input.dockerd_path = "/usr/bin/dockerd";
  input.socket_activation = dm::SocketActivation::no;
  input.port = 12376;
  input.live_restore = dm::LiveRestore::no;
  input.driver_name = "local";
  CHECK(dm::render_dockerd_dropin(input) ==
        "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd -H unix:///var/run/docker.sock -H "
        "tcp://0.0.0.0:12376 " +
            k_tls + " --label provider=local\n");
}

TEST_CASE("drop-in renders every engine option in order", "[engine_config]") {
  auto input = base_input();
  input.options.labels = {"env=prod", "team=infra"};
  input.options.insecure_registry = {"10.0.0.1:5000"};
  input.options.registry_mirror = {"https://mirror.example.com", "https://m2.example.com"};
  input.options.storage_driver = "overlay2";
  input.options.dns = {"8.8.8.8"};
  input.options.graph_dir = "/data/docker";
  input.options.log_level = "debug";
  input.options.ipv6 = true;
  input.options.selinux_enabled = true;
  input.options.arbitrary_flags = {"max-concurrent-downloads=5", "experimental"};
  input.options.env = {"HTTP_PROXY=http://proxy:3128", "NO_PROXY=localhost,127.0.0.1"};
  CHECK(dm::render_dockerd_dropin(input) ==
        "[Service]\nExecStart=\nExecStart=/usr/sbin/dockerd -H fd:// -H tcp://0.0.0.0:2376 " +
            k_tls +
            " --label provider=generic --label env=prod --label team=infra --insecure-registry "
            "10.0.0.1:5000 --registry-mirror https://mirror.example.com --registry-mirror "
            "https://m2.example.com --storage-driver overlay2 --dns 8.8.8.8 --data-root "
            "/data/docker --log-level debug --ipv6 --selinux-enabled "
            "--max-concurrent-downloads=5 --experimental --live-restore\n"
            "Environment=\"HTTP_PROXY=http://proxy:3128\"\n"
            "Environment=\"NO_PROXY=localhost,127.0.0.1\"\n");
}

TEST_CASE("drop-in quotes values for systemd", "[engine_config]") {
  auto input = base_input();
  input.live_restore = dm::LiveRestore::no;
  input.options.labels = {"note=hello world", "cost=100%", "price=$5", "q=say \"hi\""};
  input.options.env = {"A=50% off", "B=a \"b\" \\c", "C=$HOME"};
  CHECK(dm::render_dockerd_dropin(input) ==
        "[Service]\nExecStart=\nExecStart=/usr/sbin/dockerd -H fd:// -H tcp://0.0.0.0:2376 " +
            k_tls +
            " --label provider=generic --label \"note=hello world\" --label cost=100%% --label "
            "price=$$5 --label \"q=say \\\"hi\\\"\"\n"
            "Environment=\"A=50%% off\"\n"
            "Environment=\"B=a \\\"b\\\" \\\\c\"\n"
            "Environment=\"C=$HOME\"\n");
}

TEST_CASE("systemd_quote_exec_word", "[engine_config]") {
  CHECK(dm::systemd_quote_exec_word("plain") == "plain");
  CHECK(dm::systemd_quote_exec_word("") == "\"\"");
  CHECK(dm::systemd_quote_exec_word("a;b") == "\"a;b\"");
  CHECK(dm::systemd_quote_exec_word("it's") == "\"it's\"");
  CHECK(dm::systemd_quote_exec_word("${X}") == "$${X}");
  CHECK(dm::systemd_quote_exec_word("%h") == "%%h");
}

TEST_CASE("the drop-in and certificates are where docker-machine puts them", "[engine_config]") {
  CHECK(std::string(dm::k_dockerd_dropin_path) ==
        "/etc/systemd/system/docker.service.d/10-machine.conf");
  CHECK(std::string(dm::k_dockerd_dropin_path) ==
        std::string(dm::k_dockerd_dropin_dir) + "/" + dm::k_dockerd_dropin_name);
  CHECK(std::string(dm::k_engine_cert_dir) == "/etc/docker");
  // The old name sorts before docker-machine's, so it could never win over it.
  CHECK(std::string("10-dmachine.conf") < std::string(dm::k_dockerd_dropin_name));
}

TEST_CASE("engine options a unit or dockerd cannot hold are refused", "[engine_config]") {
  auto error_of = [](const dm::EngineOptions& engine) {
    auto checked = dm::validate_engine_options(engine);
    REQUIRE_FALSE(checked);
    CHECK(checked.error().kind == dm::ErrorKind::usage);
    return checked.error().message;
  };
  dm::EngineOptions good;
  good.arbitrary_flags = {"log-level=debug", "--max-concurrent-downloads=3", "ipv6",
                          "log-opt=max-size=10m"};
  good.labels = {"env=prod", "com.example/team=a b"};
  good.env = {"HTTP_PROXY=http://p:3128", "EMPTY="};
  good.insecure_registry = {"10.0.0.5:5000"};
  good.registry_mirror = {"https://mirror.example"};
  good.storage_driver = "overlay2";
  good.install_url = "https://get.docker.com";
  good.graph_dir = "/var/lib/my docker";
  CHECK(dm::validate_engine_options(good));

  dm::EngineOptions engine;
  engine.env = {"NOEQ"};
  CHECK(error_of(engine) == "--engine-env \"NOEQ\": expected NAME=VALUE");
  engine.env = {"1A=b"};
  CHECK(error_of(engine) == "--engine-env \"1A=b\": expected NAME=VALUE");
  engine.env = {"A=b\nExecStartPre=/bin/sh -c id"};
  CHECK_THAT(error_of(engine), Catch::Contains("has a newline"));
  engine = {};
  engine.labels = {"novalue"};
  CHECK(error_of(engine) == "--engine-label \"novalue\": expected key=value");
  engine.labels = {"a=b\nc"};
  CHECK_THAT(error_of(engine), Catch::StartsWith("--engine-label \"a=b\\nc\": has a newline"));
  engine = {};
  engine.arbitrary_flags = {"x y=1"};
  CHECK_THAT(error_of(engine), Catch::StartsWith("--engine-opt \"x y=1\": expected flag=value"));
  engine.arbitrary_flags = {"tls=false\n--tlsverify=false"};
  CHECK_THAT(error_of(engine), Catch::Contains("has a newline"));
  engine = {};
  engine.insecure_registry = {"a b"};
  CHECK_THAT(error_of(engine), Catch::Contains("must be one word"));
  engine = {};
  engine.install_url = "https://x/'; rm -rf /; '";
  CHECK_THAT(error_of(engine), Catch::StartsWith("--engine-install-url"));

  CHECK(dm::validate_tls_sans({"node.example", "10.0.0.9", "*.example"}));
  auto san = dm::validate_tls_sans({"ok", "bad\nname"});
  REQUIRE_FALSE(san);
  CHECK_THAT(san.error().message, Catch::StartsWith("--tls-san \"bad\\nname\""));
  CHECK_FALSE(dm::validate_tls_sans({""}));
}
