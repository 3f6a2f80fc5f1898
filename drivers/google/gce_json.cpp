#include "drivers/google/gce_json.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace dm::google {

namespace {

using nlohmann::json;

// A member of the expected type, or its zero value.
std::string string_at(const json& doc, const char* key) {
  auto it = doc.find(key);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : "";
}

const json& object_at(const json& doc, const char* key) {
  static const json empty = json::object();
  auto it = doc.find(key);
  return it != doc.end() && it->is_object() ? *it : empty;
}

const json& first_of(const json& doc, const char* key) {
  static const json empty = json::object();
  auto it = doc.find(key);
  return it != doc.end() && it->is_array() && !it->empty() && it->front().is_object()
             ? it->front()
             : empty;
}

// The answer as a JSON object of the given kind ("compute#instance").
Result<json> document_of_kind(std::string_view body, const char* kind) {
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return fail(fmt::format("Compute Engine's answer is not a JSON object (expected {})", kind));
  }
  if (string_at(doc, "kind") != kind) {
    return fail(fmt::format("Compute Engine answered with kind \"{}\", not \"{}\"",
                            string_at(doc, "kind"), kind));
  }
  return doc;
}

} // namespace

Result<GceInstance> parse_gce_instance(std::string_view body) {
  auto doc = document_of_kind(body, "compute#instance");
  DM_TRY(doc);
  GceInstance instance;
  instance.name = string_at(*doc, "name");
  instance.status = string_at(*doc, "status");
  const json& nic = first_of(*doc, "networkInterfaces");
  instance.network_ip = string_at(nic, "networkIP");
  instance.nat_ip = string_at(first_of(nic, "accessConfigs"), "natIP");
  const json& tags = object_at(*doc, "tags");
  if (auto items = tags.find("items"); items != tags.end() && items->is_array()) {
    for (const auto& tag : *items) {
      if (tag.is_string()) {
        instance.tags.push_back(tag.get<std::string>());
      }
    }
  }
  if (instance.name.empty() || instance.status.empty()) {
    return fail("Compute Engine's instance has no name or status");
  }
  return instance;
}

MachineState gce_machine_state(const std::string& status) {
  if (status == "PROVISIONING" || status == "STAGING") {
    return MachineState::starting;
  }
  if (status == "RUNNING") {
    return MachineState::running;
  }
  if (status == "STOPPING" || status == "STOPPED" || status == "TERMINATED") {
    return MachineState::stopped;
  }
  return MachineState::none;
}

Result<GceOperation> parse_gce_operation(std::string_view body) {
  auto doc = document_of_kind(body, "compute#operation");
  DM_TRY(doc);
  GceOperation operation;
  operation.name = string_at(*doc, "name");
  operation.status = string_at(*doc, "status");
  operation.operation_type = string_at(*doc, "operationType");
  operation.target_link = string_at(*doc, "targetLink");
  operation.self_link = string_at(*doc, "selfLink");
  operation.zone = string_at(*doc, "zone");
  if (auto status = doc->find("httpErrorStatusCode");
      status != doc->end() && status->is_number_integer()) {
    operation.http_error_status = status->get<int>();
  }
  const json& error = object_at(*doc, "error");
  if (auto errors = error.find("errors"); errors != error.end() && errors->is_array()) {
    for (const auto& item : *errors) {
      if (item.is_object()) {
        operation.errors.push_back({string_at(item, "code"), string_at(item, "message")});
      }
    }
  }
  if (operation.name.empty() || operation.status.empty()) {
    return fail("Compute Engine's operation has no name or status");
  }
  return operation;
}

std::optional<GceApiError> parse_gce_error(std::string_view body) {
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return std::nullopt;
  }
  const json& error = object_at(doc, "error");
  auto code = error.find("code");
  if (code == error.end() || !code->is_number_integer()) {
    return std::nullopt;
  }
  return GceApiError{code->get<int>(), string_at(error, "message"),
                     string_at(first_of(error, "errors"), "reason")};
}

} // namespace dm::google
