#pragma once
// A small subset of Go's text/template, for `ls --format`, `inspect -f` and `status`:
// text, {{.}}, {{.A.B}}, the functions json, prettyjson, upper, lower, pipes (|),
// {{- -}} trimming and comments; values print like Go's fmt %v.
#include "core/result.h"

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace dm {

// What a field that is not there does (Go's Option("missingkey=...")).
enum class MissingKey { no_value, error };

// How a template is executed: its name and data shape, for Go's error texts.
struct TemplateRun {
  std::string name;              // "ls", "inspect": `template: ls:1:2: executing "ls" ...`
  MissingKey missing = MissingKey::no_value;
  std::string struct_type;       // non-empty: the data is that Go struct (an unknown
                                 // top-level field "can't evaluate field X in type T")
};

class GoTemplate {
public:
  // One command of a pipeline: a function applied to its operands, or a lone operand.
  struct Command {
    std::string function;                       // empty: the operand itself
    std::vector<std::vector<std::string>> args; // field paths; {} is "."
    std::vector<std::string> arg_texts;         // each field as written (".A.B")
    std::vector<std::string> arg_locations;     // each field's "line:column", as Go counts
  };
  struct Node {
    std::string text;              // literal text when pipeline is empty
    std::vector<Command> pipeline; // an action
  };

  // A missing key prints "<no value>"; a field of a non-object is an error.
  [[nodiscard]] Result<std::string> render(const nlohmann::ordered_json& data) const;
  [[nodiscard]] Result<std::string> render(const nlohmann::json& data) const;
  // As render, with run's missing-key rule; errors read like Go's execution errors.
  [[nodiscard]] Result<std::string> render(const nlohmann::ordered_json& data,
                                           const TemplateRun& run) const;

  std::vector<Node> nodes;
};

// Errors read "template: ..." (unclosed action, unknown function, unsupported action).
Result<GoTemplate> parse_go_template(std::string_view text);

// Go's fmt %v of a JSON value: strings raw, null "<nil>", [a b], map[k:v].
std::string go_print(const nlohmann::ordered_json& value);
// encoding/json's Marshal (compact, <>& escaped) and MarshalIndent with 4 spaces.
std::string go_json(const nlohmann::ordered_json& value);
std::string go_pretty_json(const nlohmann::ordered_json& value);

// --format of a command that prints one object (status, version): "json" is the object
// compact on one line; anything else a Go template over it (unknown fields are errors).
Result<std::string> render_object_format(std::string_view format, const nlohmann::ordered_json& doc,
                                         const TemplateRun& run);

// Turns the two-character sequences \t and \n into a tab and a newline (ls --format).
std::string unescape_format(std::string_view text);

} // namespace dm
