#include "core/docker_context.h"

#include "core/machine_store.h"
#include "tests/fakes/temp_dir.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace fs = std::filesystem;

using dm::testing::mode_of;
using dm::testing::TempDir;

namespace {

dm::DockerContextSpec spec_for(const std::string& name) {
  dm::DockerContextSpec spec;
  spec.name = name;
  spec.description = "dmachine machine";
  spec.host = "tcp://10.0.0.2:2376";
  spec.store = "/store";
  spec.ca_pem = "CA";
  spec.cert_pem = "CERT";
  spec.key_pem = "KEY";
  return spec;
}

nlohmann::json read_json(const fs::path& path) {
  auto text = dm::read_file(path);
  REQUIRE(text);
  return nlohmann::json::parse(*text);
}

} // namespace

TEST_CASE("docker context id is the sha256 hex of the name", "[docker_context]") {
  CHECK(dm::docker_context_id("default") ==
        "37a8eec1ce19687d132fe29051dca629d164e2c4958ba141d5f4133a33f0688f");
}

TEST_CASE("docker context: the docker CLI's layout and modes", "[docker_context]") {
  TempDir dir;
  REQUIRE(dm::write_docker_context(dir.path(), spec_for("web1")));
  const std::string id = dm::docker_context_id("web1");
  const fs::path meta = dir.path() / "contexts/meta" / id / "meta.json";
  auto doc = read_json(meta);
  CHECK(doc["Name"] == "web1");
  CHECK(doc["Metadata"]["Description"] == "dmachine machine");
  CHECK(doc["Endpoints"]["docker"]["Host"] == "tcp://10.0.0.2:2376");
  CHECK(doc["Endpoints"]["docker"]["SkipTLSVerify"] == false);
  const fs::path tls = dir.path() / "contexts/tls" / id / "docker";
  CHECK(*dm::read_file(tls / "ca.pem") == "CA");
  CHECK(*dm::read_file(tls / "cert.pem") == "CERT");
  CHECK(*dm::read_file(tls / "key.pem") == "KEY");
  CHECK(mode_of(tls / "key.pem") == 0600);
  CHECK(mode_of(tls) == 0700);
  CHECK(mode_of(meta.parent_path()) == 0700);
  CHECK(dm::docker_context_owner(dir.path(), "web1", "/store") == dm::ContextOwner::dmachine);
  CHECK(dm::docker_context_owner(dir.path(), "web1", "/other") == dm::ContextOwner::other);
  CHECK(dm::docker_context_owner(dir.path(), "web2", "/store") == dm::ContextOwner::none);
}

TEST_CASE("docker context: one that dmachine did not make is never touched", "[docker_context]") {
  TempDir dir;
  const fs::path meta = dir.path() / "contexts/meta" / dm::docker_context_id("web1");
  fs::create_directories(meta);
  const std::string theirs =
      R"({"Name":"web1","Metadata":{},"Endpoints":{"docker":{"Host":"ssh://me@there"}}})";
  REQUIRE(dm::write_file_atomic(meta / "meta.json", theirs));
  auto written = dm::write_docker_context(dir.path(), spec_for("web1"));
  REQUIRE_FALSE(written);
  CHECK(written.error().kind == dm::ErrorKind::already_exists);
  CHECK(*dm::read_file(meta / "meta.json") == theirs);
  auto removed = dm::remove_docker_context(dir.path(), "web1", "/store");
  REQUIRE(removed);
  CHECK_FALSE(*removed);
  CHECK(fs::exists(meta / "meta.json"));
}

TEST_CASE("docker context: currentContext keeps every other key; rm resets it",
          "[docker_context]") {
  TempDir dir;
  const std::string config = "{\n\t\"auths\": {\"r\": {\"auth\": \"x\"}},\n\t\"psFormat\": \"t\"\n}\n";
  REQUIRE(dm::write_file_atomic(dir.path() / "config.json", config, 0644));
  REQUIRE(dm::write_docker_context(dir.path(), spec_for("web1")));
  REQUIRE(dm::set_current_docker_context(dir.path(), "web1"));
  CHECK(dm::current_docker_context(dir.path()) == "web1");
  auto doc = read_json(dir.path() / "config.json");
  CHECK(doc["auths"]["r"]["auth"] == "x");
  CHECK(doc["psFormat"] == "t");
  CHECK(mode_of(dir.path() / "config.json") == 0600);

  auto removed = dm::remove_docker_context(dir.path(), "web1", "/store");
  REQUIRE(removed);
  CHECK(*removed);
  CHECK(dm::current_docker_context(dir.path()) == "");
  CHECK(read_json(dir.path() / "config.json")["psFormat"] == "t");
  CHECK_FALSE(fs::exists(dir.path() / "contexts/meta" / dm::docker_context_id("web1")));
  CHECK_FALSE(fs::exists(dir.path() / "contexts/tls" / dm::docker_context_id("web1")));
}

TEST_CASE("docker context: a config.json that is not an object is left alone",
          "[docker_context]") {
  TempDir dir;
  REQUIRE(dm::write_file_atomic(dir.path() / "config.json", "[1,2"));
  CHECK_FALSE(dm::set_current_docker_context(dir.path(), "web1"));
  CHECK(*dm::read_file(dir.path() / "config.json") == "[1,2");
}
