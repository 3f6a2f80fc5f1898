#include "core/go_template.h"
#include "core/machine_list.h"

#include <catch2/catch.hpp>

using nlohmann::ordered_json;

namespace {

std::string render(const std::string& text, const ordered_json& data,
                   const dm::TemplateRun& run = {}) {
  auto parsed = dm::parse_go_template(text);
  REQUIRE(parsed);
  auto rendered = parsed->render(data, run);
  REQUIRE(rendered);
  return *rendered;
}

std::string render_error(const std::string& text, const ordered_json& data,
                         const dm::TemplateRun& run) {
  auto parsed = dm::parse_go_template(text);
  REQUIRE(parsed);
  auto rendered = parsed->render(data, run);
  REQUIRE_FALSE(rendered);
  return rendered.error().message;
}

} // namespace

TEST_CASE("unclosed actions are parse errors, never a crash", "[go_template]") {
  for (const char* text : {"{{.Name", "{{", "}}{{", "a {{.A}} {{", "{{ .Name }"}) {
    auto parsed = dm::parse_go_template(text);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().kind == dm::ErrorKind::usage);
    CHECK_THAT(parsed.error().message, Catch::StartsWith("template: "));
  }
}

TEST_CASE("a missing key prints <no value> by default", "[go_template]") {
  CHECK(render("{{.Foo}}", ordered_json{{"Name", "a"}}) == "<no value>");
}

TEST_CASE("an unknown field of a struct is Go's execution error", "[go_template]") {
  const dm::TemplateRun ls{"ls", dm::MissingKey::error, "commands.HostListItem"};
  CHECK(render_error("{{.Foo}}", ordered_json{{"Name", "a"}}, ls) ==
        "template: ls:1:2: executing \"ls\" at <.Foo>: can't evaluate field Foo in type "
        "commands.HostListItem");
  // Go's column: the byte offset on the first line, from the newline after it.
  CHECK(render_error("{{.Name}}\n  x {{ .Bar }}", ordered_json{{"Name", "a"}}, ls) ==
        "template: ls:2:7: executing \"ls\" at <.Bar>: can't evaluate field Bar in type "
        "commands.HostListItem");
  CHECK(render_error("{{.Name.X}}", ordered_json{{"Name", "a"}}, ls) ==
        "template: ls:1:2: executing \"ls\" at <.Name.X>: can't evaluate field X in type string");
}

TEST_CASE("a missing map key is an error with missingkey=error", "[go_template]") {
  const dm::TemplateRun inspect{"inspect", dm::MissingKey::error, ""};
  ordered_json data{{"Driver", {{"IPAddress", "10.0.0.2"}}}, {"Name", "dev"}};
  CHECK(render("{{.Driver.IPAddress}} {{json .Name}}", data, inspect) == "10.0.0.2 \"dev\"");
  CHECK(render_error("{{json .Driver.Nope}}", data, inspect) ==
        "template: inspect:1:7: executing \"inspect\" at <.Driver.Nope>: map has no entry for "
        "key \"Nope\"");
}

TEST_CASE("ls --format: bad templates and unknown fields fail before any row", "[go_template]") {
  CHECK(dm::check_ls_format("{{.Name}} {{.State}}"));
  CHECK(dm::check_ls_format("table {{.Name}}\\t{{.ResponseTime}}"));
  for (const char* text : {"{{.Name", "{{", "}}{{", "{{.Nope}}", "table {{.Nope}}"}) {
    auto checked = dm::check_ls_format(text);
    REQUIRE_FALSE(checked);
    CHECK_THAT(checked.error().message, Catch::StartsWith("template: "));
  }
  auto rendered = dm::render_ls_format({dm::LsRow{}}, "{{.Nope}}");
  REQUIRE_FALSE(rendered);
  CHECK_THAT(rendered.error().message, Catch::Contains("can't evaluate field Nope"));
}

TEST_CASE("a one-object --format: json on one line, or a strict template", "[go_template]") {
  const nlohmann::ordered_json doc = {{"Name", "m<1>"}, {"State", "Running"}};
  const dm::TemplateRun run{"status", dm::MissingKey::error, ""};
  CHECK(*dm::render_object_format("json", doc, run) ==
        "{\"Name\":\"m\\u003c1\\u003e\",\"State\":\"Running\"}\n");
  CHECK(*dm::render_object_format("{{.Name}}\\t{{.State}}", doc, run) == "m<1>\tRunning\n");
  auto unknown = dm::render_object_format("{{.Nope}}", doc, run);
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().message.find("executing \"status\"") != std::string::npos);
}

TEST_CASE("ls --format json prints one compact object per row", "[go_template]") {
  dm::LsRow a;
  a.name = "b";
  a.state = "Running";
  dm::LsRow b;
  b.name = "a";
  auto rendered = dm::render_ls_format({a, b}, "json");
  REQUIRE(rendered);
  auto newline = rendered->find('\n');
  REQUIRE(newline != std::string::npos);
  CHECK(nlohmann::json::parse(rendered->substr(0, newline))["Name"] == "a"); // sorted
  CHECK(nlohmann::json::parse(rendered->substr(newline + 1))["State"] == "Running");
  CHECK(std::count(rendered->begin(), rendered->end(), '\n') == 2);
}
