// AWS credentials: flags, then the environment, then a profile of the shared files.
#include "drivers/amazonec2/credentials.h"
#include "tests/fakes/temp_dir.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <map>

using namespace dm::aws;

namespace {

struct Inputs {
  dm::testing::TempDir home;
  std::map<std::string, std::string> env;
  CredentialInputs make(std::string key = "", std::string secret = "") {
    CredentialInputs inputs;
    inputs.access_key = std::move(key);
    inputs.secret_key = std::move(secret);
    inputs.env = [this](const char* name) {
      auto found = env.find(name);
      return found == env.end() ? std::string() : found->second;
    };
    inputs.home = home.path();
    return inputs;
  }
  void write(const std::string& name, const std::string& text) {
    std::filesystem::create_directories(home.path() / ".aws");
    std::ofstream(home.path() / ".aws" / name) << text;
  }
};

} // namespace

TEST_CASE("AWS credentials come from flags first, then the environment", "[ec2_credentials]") {
  Inputs in;
  in.env = {{"AWS_ACCESS_KEY_ID", "ENVKEY"}, {"AWS_SECRET_ACCESS_KEY", "envsecret"},
            {"AWS_SESSION_TOKEN", "tok"}};
  auto flags = resolve_aws_credentials(in.make("FLAGKEY", "flagsecret"));
  REQUIRE(flags);
  CHECK(flags->source == "flags");
  CHECK(flags->credentials.access_key_id == "FLAGKEY");
  auto env = resolve_aws_credentials(in.make());
  REQUIRE(env);
  CHECK(env->source == "environment");
  CHECK(env->credentials.session_token == "tok");
  CHECK_FALSE(resolve_aws_credentials(in.make("ONLYKEY", "")));
  in.env.erase("AWS_SECRET_ACCESS_KEY");
  auto half = resolve_aws_credentials(in.make());
  REQUIRE_FALSE(half);
  CHECK(half.error().message.find("together") != std::string::npos);
}

TEST_CASE("AWS credentials come from a profile of ~/.aws", "[ec2_credentials]") {
  Inputs in;
  in.write("credentials", "# comment\n[default]\naws_access_key_id = DEFKEY\n"
                          "aws_secret_access_key = defsecret\n\n[dev]\n"
                          "aws_access_key_id=DEVKEY\naws_secret_access_key=devsecret\n");
  in.write("config", "[default]\nregion = eu-west-1\n[profile dev]\nregion = ap-south-1\n"
                     "[profile cfgonly]\naws_access_key_id = CFGKEY\naws_secret_access_key = c\n");
  auto def = resolve_aws_credentials(in.make());
  REQUIRE(def);
  CHECK(def->source == "profile default");
  CHECK(def->credentials.access_key_id == "DEFKEY");
  CHECK(def->region == "eu-west-1");
  in.env["AWS_PROFILE"] = "dev";
  auto dev = resolve_aws_credentials(in.make());
  REQUIRE(dev);
  CHECK(dev->credentials.secret_access_key == "devsecret");
  CHECK(dev->region == "ap-south-1");
  in.env["AWS_PROFILE"] = "cfgonly";
  auto cfg = resolve_aws_credentials(in.make());
  REQUIRE(cfg);
  CHECK(cfg->credentials.access_key_id == "CFGKEY");
  in.env["AWS_PROFILE"] = "missing";
  auto none = resolve_aws_credentials(in.make());
  REQUIRE_FALSE(none);
  CHECK(none.error().message.find("no AWS credentials found (profile \"missing\"") == 0);
  CHECK(none.error().message.find("AWS_ACCESS_KEY_ID") != std::string::npos);
}

TEST_CASE("a broken AWS file is an error naming the line", "[ec2_credentials]") {
  CHECK_FALSE(parse_aws_ini("aws_access_key_id = x\n"));
  auto bad = parse_aws_ini("[default]\nno equals sign\n");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message == "line 2: expected key = value inside a [section]");
  CHECK_FALSE(parse_aws_ini("[unclosed\n"));
  auto ok = parse_aws_ini("[a]\nk = v = w\n; c\n");
  REQUIRE(ok);
  CHECK(ok->at("a").at("k") == "v = w");
}
