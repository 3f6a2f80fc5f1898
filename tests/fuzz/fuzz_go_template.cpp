// Go templates from `ls --format`, `inspect -f` and `status`: parsing and executing
// never abort, against a machine record (inspect) and against ls rows (ls --format).
// Input: TEMPLATE, or TEMPLATE NUL JSON to execute against fuzzed data as well.
#include "core/go_template.h"
#include "core/machine_list.h"
#include "core/machine_record.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

// The fixture tests/fixtures/docker-machine-store/machines/node1/config.json, shortened.
constexpr const char* k_sample_record = R"({"ConfigVersion":3,"Driver":{"IPAddress":"203.0.113.10",
"MachineName":"node1","SSHUser":"root","SSHPort":22,"SSHKeyPath":"/s/machines/node1/id_ed25519",
"StorePath":"/s","SwarmMaster":false,"EnginePort":2376},"DriverName":"generic","HostOptions":{
"Driver":"","Memory":0,"Disk":0,"EngineOptions":{"ArbitraryFlags":[],"Dns":null,"GraphDir":"",
"Env":[],"Ipv6":false,"InsecureRegistry":[],"Labels":["a=b"],"LogLevel":"","StorageDriver":"vfs",
"SelinuxEnabled":false,"TlsVerify":true,"RegistryMirror":[],"InstallURL":""},"SwarmOptions":{
"IsSwarm":false,"Heartbeat":0,"Env":null},"AuthOptions":{"CertDir":"/s/certs",
"CaCertPath":"/s/certs/ca.pem","ServerCertSANs":[],"StorePath":"/s/machines/node1"}},
"Name":"node1"})";

const nlohmann::ordered_json& sample_record() {
  static const nlohmann::ordered_json record = [] {
    auto parsed = dm::parse_machine_record(k_sample_record);
    dm::fuzz::check(parsed.has_value(), "the sample record parses");
    return dm::to_ordered_json(*parsed);
  }();
  return record;
}

std::vector<dm::LsRow> sample_rows() {
  dm::LsRow running;
  running.name = "web1";
  running.active = "*";
  running.driver_name = "local";
  running.state = "Running";
  running.url = "tcp://10.0.0.2:2376";
  running.docker_version = "v20.10.24";
  running.response_time_ms = 12;
  running.labels = {"provider=local", "tier=app"};
  dm::LsRow broken;
  broken.name = "Broken";
  broken.driver_name = "generic";
  broken.state = "Error";
  broken.error = "record \"x\" is not valid JSON";
  return {running, broken};
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parts = dm::fuzz::split_parts(dm::fuzz::as_text(data, size), 2);
  const std::string& text = parts[0];
  (void)dm::render_ls_format(sample_rows(), text);
  auto parsed = dm::parse_go_template(text);
  if (!parsed) {
    return 0;
  }
  (void)parsed->render(sample_record());
  (void)parsed->render(nlohmann::json::parse(sample_record().dump()));
  if (parts.size() == 2) {
    auto json = nlohmann::ordered_json::parse(parts[1], nullptr, false);
    if (!json.is_discarded()) {
      (void)parsed->render(json);
      (void)dm::go_print(json);
      (void)dm::go_json(json);
      (void)dm::go_pretty_json(json);
    }
  }
  return 0;
}
