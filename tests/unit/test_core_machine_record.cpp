#include "core/machine_record.h"
#include "core/machine_state.h"
#include "core/machine_store.h"

#include <catch2/catch.hpp>

using dm::MachineRecord;
using nlohmann::json;

namespace {

const std::string k_fixture =
    std::string(DM_FIXTURES_DIR) + "/docker-machine-store/machines/node1/config.json";

std::string fixture_text() {
  auto text = dm::read_file(k_fixture);
  REQUIRE(text);
  return *text;
}

std::string parse_error(const std::string& text) {
  auto record = dm::parse_machine_record(text);
  REQUIRE_FALSE(record);
  return record.error().message;
}

} // namespace

TEST_CASE("a docker-machine config.json loads", "[machine_record]") {
  auto record = dm::parse_machine_record(fixture_text());
  REQUIRE(record);
  CHECK(record->config_version == 3);
  CHECK(record->name == "node1");
  CHECK(record->driver_name == "generic");
  CHECK(record->driver["IPAddress"] == "203.0.113.10");
  CHECK(record->driver["SSHPort"] == 22);
  CHECK(record->driver["SSHKeyPath"] == "/home/alice/.docker/machine/machines/node1/id_ed25519");
  CHECK(record->engine.storage_driver == "vfs");
  CHECK(record->engine.install_url == "https://get.docker.com");
  CHECK(record->engine.tls_verify);
  CHECK(record->engine.dns.empty());
  CHECK(record->auth.ca_cert_path == "/home/alice/.docker/machine/certs/ca.pem");
  CHECK(record->auth.server_key_path ==
        "/home/alice/.docker/machine/machines/node1/server-key.pem");
  CHECK(record->auth.store_path == "/home/alice/.docker/machine/machines/node1");
  CHECK(record->swarm_options["Host"] == "tcp://0.0.0.0:3376");
}

TEST_CASE("the fixture round-trips key for key and in docker-machine's order", "[machine_record]") {
  const std::string text = fixture_text();
  auto record = dm::parse_machine_record(text);
  REQUIRE(record);
  std::string rendered = dm::render_machine_record(*record);
  CHECK(json::parse(rendered) == json::parse(text));
  // Same key order and indentation as docker-machine: the text itself is identical.
  CHECK(rendered == text);
  CHECK(dm::to_json(*record) == json::parse(text));
}

TEST_CASE("unknown keys at every level are written back", "[machine_record]") {
  json doc = json::parse(fixture_text());
  doc["Dmachine"] = {{"HostKeyPinned", true}};
  doc["HostOptions"]["Future"] = 7;
  doc["HostOptions"]["EngineOptions"]["Runtime"] = "runc";
  doc["HostOptions"]["AuthOptions"]["Extra"] = {"a", "b"};
  auto record = dm::parse_machine_record(doc.dump());
  REQUIRE(record);
  CHECK(json::parse(dm::render_machine_record(*record)) == doc);
}

TEST_CASE("a record changed by dmachine keeps every fixture key", "[machine_record]") {
  json original = json::parse(fixture_text());
  auto record = dm::parse_machine_record(original.dump());
  REQUIRE(record);
  record->engine.labels.push_back("provider=generic");
  record->auth.server_cert_sans.push_back("10.0.0.1");
  json written = json::parse(dm::render_machine_record(*record));
  const json flat_original = original.flatten();
  for (const auto& item : flat_original.items()) {
    INFO(item.key());
    CHECK(written.contains(json::json_pointer(item.key())));
  }
  CHECK(written["HostOptions"]["EngineOptions"]["Labels"] == json{"provider=generic"});
}

TEST_CASE("null lists parse as empty; Dns is written as null like docker-machine", "[machine_record]") {
  json doc = json::parse(fixture_text());
  doc["HostOptions"]["EngineOptions"]["Labels"] = nullptr;
  doc["HostOptions"]["EngineOptions"]["Dns"] = json::array();
  auto record = dm::parse_machine_record(doc.dump());
  REQUIRE(record);
  CHECK(record->engine.labels.empty());
  json written = json::parse(dm::render_machine_record(*record));
  CHECK(written["HostOptions"]["EngineOptions"]["Labels"] == json::array());
  CHECK(written["HostOptions"]["EngineOptions"]["Dns"].is_null());
  record->engine.dns = {"8.8.8.8"};
  written = json::parse(dm::render_machine_record(*record));
  CHECK(written["HostOptions"]["EngineOptions"]["Dns"] == json{"8.8.8.8"});
}

TEST_CASE("wrong types name the key", "[machine_record]") {
  json doc = json::parse(fixture_text());
  doc["HostOptions"]["EngineOptions"]["Labels"] = "a=b";
  CHECK(parse_error(doc.dump()) == "config.json: HostOptions.EngineOptions.Labels: expected array");

  doc = json::parse(fixture_text());
  doc["HostOptions"]["AuthOptions"]["ServerCertSANs"] = {"ok", 3};
  CHECK(parse_error(doc.dump()) ==
        "config.json: HostOptions.AuthOptions.ServerCertSANs[1]: expected string");

  doc = json::parse(fixture_text());
  doc["HostOptions"]["Memory"] = "big";
  CHECK(parse_error(doc.dump()) == "config.json: HostOptions.Memory: expected integer");

  doc = json::parse(fixture_text());
  doc["Driver"] = 5;
  CHECK(parse_error(doc.dump()) == "config.json: Driver: expected object");

  doc = json::parse(fixture_text());
  doc["ConfigVersion"] = 1;
  CHECK_THAT(parse_error(doc.dump()), Catch::Contains("ConfigVersion: version 1 is not supported"));
}

TEST_CASE("truncated and corrupt files give a clear error", "[machine_record]") {
  std::string text = fixture_text();
  CHECK_THAT(parse_error(text.substr(0, 120)),
             Catch::StartsWith("config.json: invalid JSON at byte 121: invalid string"));
  std::string cut = text.substr(0, text.find("\"HostOptions\""));
  CHECK(parse_error(cut) == "config.json: invalid JSON at byte " + std::to_string(cut.size() + 1) +
                                ": unexpected end of input; expected string literal");
  CHECK(parse_error("") == "config.json: empty file (truncated write?)");
  CHECK_THAT(parse_error("{\"ConfigVersion\": 3,, }"), Catch::StartsWith("config.json: invalid JSON at byte 21"));
  CHECK(parse_error("[1, 2]") == "config.json: expected a JSON object at the top level");
}

TEST_CASE("a new record has docker-machine's defaults", "[machine_record]") {
  MachineRecord record = dm::new_machine_record("web1", "generic", "/s");
  CHECK(record.config_version == 3);
  CHECK(record.name == "web1");
  CHECK(record.driver_name == "generic");
  CHECK(record.auth.cert_dir == "/s/certs");
  CHECK(record.auth.ca_cert_path == "/s/certs/ca.pem");
  CHECK(record.auth.ca_private_key_path == "/s/certs/ca-key.pem");
  CHECK(record.auth.client_key_path == "/s/certs/key.pem");
  CHECK(record.auth.client_cert_path == "/s/certs/cert.pem");
  CHECK(record.auth.server_cert_path == "/s/machines/web1/server.pem");
  CHECK(record.auth.server_key_path == "/s/machines/web1/server-key.pem");
  CHECK(record.auth.store_path == "/s/machines/web1");
  CHECK(record.engine.tls_verify);
  CHECK(record.engine.install_url.empty());
  CHECK(record.swarm_options["IsSwarm"] == false);
  CHECK(record.swarm_options["Image"] == "swarm:latest");
  CHECK(record.swarm_options["Strategy"] == "spread");

  // Same shape as a docker-machine file: every key of the fixture is present.
  json fixture = json::parse(fixture_text());
  json written = json::parse(dm::render_machine_record(record));
  const json flat_fixture = fixture.flatten();
  for (const auto& item : flat_fixture.items()) {
    if (item.key().rfind("/Driver/", 0) == 0) {
      continue; // the driver fills its own section
    }
    INFO(item.key());
    CHECK(written.contains(json::json_pointer(item.key())));
  }
  auto reparsed = dm::parse_machine_record(dm::render_machine_record(record));
  REQUIRE(reparsed);
  CHECK(dm::render_machine_record(*reparsed) == dm::render_machine_record(record));
}

TEST_CASE("machine names follow docker-machine's rule", "[machine_record]") {
  CHECK(dm::is_valid_machine_name("node1"));
  CHECK(dm::is_valid_machine_name("a.b-c"));
  CHECK(dm::is_valid_machine_name("9"));
  CHECK_FALSE(dm::is_valid_machine_name(""));
  CHECK_FALSE(dm::is_valid_machine_name("-a"));
  CHECK_FALSE(dm::is_valid_machine_name(".a"));
  CHECK_FALSE(dm::is_valid_machine_name("a_b"));
  CHECK_FALSE(dm::is_valid_machine_name("a/b"));
  CHECK_FALSE(dm::is_valid_machine_name("ü"));
}

TEST_CASE("names longer than a host name are refused at create, kept in the store",
          "[machine_record]") {
  const std::string longest(63, 'a');
  CHECK(dm::is_valid_machine_name(longest));
  CHECK_FALSE(dm::is_valid_machine_name(longest + "a"));
  CHECK_FALSE(dm::is_valid_machine_name(std::string(40, 'a') + "." + std::string(40, 'b')));
  CHECK(dm::is_machine_dir_name(longest + "a"));
  CHECK_FALSE(dm::is_machine_dir_name("x';id>f;'"));
  CHECK_FALSE(dm::is_machine_dir_name("$(touch p)"));
  CHECK(dm::invalid_machine_name_message("a_b") ==
        "Invalid hostname specified. Allowed hostname chars are: 0-9a-zA-Z . -");
  CHECK_THAT(dm::invalid_machine_name_message(longest + "a"),
             Catch::StartsWith("Invalid hostname specified. Allowed hostname chars are: "
                               "0-9a-zA-Z . - (and a host name has at most 63 characters"));
}

TEST_CASE("driver fields of the wrong type are errors, nulls are zero values", "[machine_record]") {
  json doc = json::parse(fixture_text());
  doc["Driver"]["SSHPort"] = "x";
  CHECK(parse_error(doc.dump()) == "config.json: Driver.SSHPort: expected integer");
  doc["Driver"]["SSHPort"] = 22.5;
  CHECK(parse_error(doc.dump()) == "config.json: Driver.SSHPort: expected integer");
  doc["Driver"]["SSHPort"] = nullptr;
  doc["Driver"]["IPAddress"] = json::array();
  CHECK(parse_error(doc.dump()) == "config.json: Driver.IPAddress: expected string");
  doc["Driver"]["IPAddress"] = nullptr;
  doc["Driver"]["SwarmMaster"] = "no";
  CHECK(parse_error(doc.dump()) == "config.json: Driver.SwarmMaster: expected true or false");
  doc["Driver"]["SwarmMaster"] = nullptr;
  auto record = dm::parse_machine_record(doc.dump());
  REQUIRE(record);
  CHECK_FALSE(record->driver.contains("SSHPort"));
  CHECK(record->driver.value("SSHPort", 22) == 22); // what a driver reads: never throws

  // Against what a driver writes: its own keys are checked the same way.
  json defaults = {{"Bridge", "dmachine0"}, {"Memory", 0}, {"Tags", json::array()}};
  CHECK(dm::checked_driver_config(json{{"Memory", 512}, {"Other", "x"}}, defaults));
  auto wrong = dm::checked_driver_config(json{{"Memory", "512"}}, defaults);
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().message == "config.json: Driver.Memory: expected integer");
  wrong = dm::checked_driver_config(json{{"Bridge", 5}}, defaults);
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().message == "config.json: Driver.Bridge: expected string");
  auto nulled = dm::checked_driver_config(json{{"Tags", nullptr}}, defaults);
  REQUIRE(nulled);
  CHECK_FALSE(nulled->contains("Tags"));
}

TEST_CASE("untrusted text is quoted for messages", "[machine_record]") {
  CHECK(dm::quoted_for_display("x';id>f;'") == "\"x';id>f;'\"");
  CHECK(dm::quoted_for_display("a\nb\x1b[31m") == "\"a\\nb\\u001b[31m\"");
}

TEST_CASE("machine states print as docker-machine's words", "[machine_state]") {
  CHECK(dm::to_string(dm::MachineState::running) == "Running");
  CHECK(dm::to_string(dm::MachineState::paused) == "Paused");
  CHECK(dm::to_string(dm::MachineState::saved) == "Saved");
  CHECK(dm::to_string(dm::MachineState::stopped) == "Stopped");
  CHECK(dm::to_string(dm::MachineState::stopping) == "Stopping");
  CHECK(dm::to_string(dm::MachineState::starting) == "Starting");
  CHECK(dm::to_string(dm::MachineState::error) == "Error");
  CHECK(dm::to_string(dm::MachineState::timeout) == "Timeout");
  CHECK(dm::to_string(dm::MachineState::none).empty());
}
