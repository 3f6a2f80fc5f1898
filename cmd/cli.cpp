#include "cmd/cli.h"
#include "cmd/command_spec.h"

#include <algorithm>
#include <fmt/format.h>
#include <memory>
#include <ostream>

namespace dm {

namespace {

const char* const k_no_machine_name =
    "Error: No machine name(s) specified and no \"default\" machine exists";

// Help in docker-machine's words: "--timeout, -t value   Timeout ... [$ENV]", no
// CLI11 type labels or validator texts (INT:INT in [0 - 100]). The descriptions
// carry docker-machine's usage line, so CLI11's own usage and positionals go.
class DescribedUsageFormatter : public CLI::Formatter {
public:
  std::string make_usage(const CLI::App* app, std::string name) const override {
    if (app->get_description().find("Usage: ") != std::string::npos) {
      return "";
    }
    return CLI::Formatter::make_usage(app, std::move(name));
  }
  std::string make_positionals(const CLI::App* app) const override {
    if (app->get_description().find("Usage: ") != std::string::npos) {
      return "";
    }
    return CLI::Formatter::make_positionals(app);
  }
  std::string make_option_name(const CLI::Option* option, bool is_positional) const override {
    if (is_positional) {
      return option->get_name(true, false);
    }
    std::string names;
    for (const auto& name : option->get_lnames()) {
      names += (names.empty() ? "--" : ", --") + name;
    }
    for (const auto& name : option->get_snames()) {
      names += (names.empty() ? "-" : ", -") + name;
    }
    return names;
  }
  std::string make_option_opts(const CLI::Option* option) const override {
    return option->get_expected_max() != 0 ? " value" : ""; // flags expect none
  }
  std::string make_option_desc(const CLI::Option* option) const override {
    std::string text = option->get_description();
    if (!option->get_default_str().empty()) {
      text += " (default \"" + option->get_default_str() + "\")";
    }
    if (!option->get_envname().empty()) {
      text += " [$" + option->get_envname() + "]";
    }
    return text;
  }
};

// The text after "prefix" in message, or "" when message does not start with it.
std::string after(const std::string& message, const std::string& prefix) {
  return message.rfind(prefix, 0) == 0 ? message.substr(prefix.size()) : "";
}

// CLI11's parse errors in the words of Go's flag package, which docker-machine users know.
std::string usage_error_text(const CLI::App& app, const CLI::ParseError& error) {
  const std::string message = error.what();
  if (dynamic_cast<const CLI::ExtrasError*>(&error) != nullptr) {
    std::vector<std::string> extras = app.remaining();
    if (!extras.empty() && extras.front().size() > 1 && extras.front()[0] == '-') {
      return "flag provided but not defined: " + extras.front();
    }
    std::string list;
    for (const auto& extra : extras) {
      list += (list.empty() ? "" : " ") + extra;
    }
    return "Invalid command line. Found extra arguments [" + list + "]";
  }
  if (dynamic_cast<const CLI::ConversionError*>(&error) != nullptr) {
    std::string rest = after(message, "Could not convert: ");
    auto eq = rest.find(" = ");
    if (eq != std::string::npos) {
      return fmt::format("invalid value \"{}\" for flag {}", rest.substr(eq + 3),
                         rest.substr(0, eq));
    }
  }
  if (dynamic_cast<const CLI::ValidationError*>(&error) != nullptr) {
    auto colon = message.find(": ");
    if (colon != std::string::npos) {
      return fmt::format("invalid value for flag {}: {}", message.substr(0, colon),
                         message.substr(colon + 2));
    }
  }
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&error) != nullptr) {
    auto colon = message.find(": At Most ");
    if (colon != std::string::npos) {
      return fmt::format("flag {} given more than once", message.substr(0, colon));
    }
    std::string rest = after(message, "Expected exactly ");
    auto to = rest.find(" arguments to ");
    if (to != std::string::npos) {
      std::string name = rest.substr(to + 14, rest.find(',', to) - to - 14);
      return "flag needs an argument: " + name;
    }
    colon = message.find(": ");
    if (colon != std::string::npos && message.find(" required ", colon) != std::string::npos) {
      return "flag needs an argument: " + message.substr(0, colon);
    }
  }
  return message;
}

} // namespace

std::optional<Result<int>> parse_command_line(CLI::App& app, std::vector<std::string> args,
                                              std::ostream& out) {
  // A repeatable flag takes one value per occurrence (`--engine-label a NAME`
  // must not swallow NAME), as docker-machine's flags do.
  for (CLI::Option* option : app.get_options()) {
    if (!option->get_positional()) {
      option->allow_extra_args(false);
      if (option->get_expected_max() == 1) {
        // Go's flag package: a repeated single-value flag takes the last value.
        option->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
      }
    }
  }
  app.formatter(std::make_shared<DescribedUsageFormatter>());
  app.set_help_flag("-h,--help", "Show help");
  if (auto* describer = dynamic_cast<CommandDescriber*>(&out)) {
    describer->take(app); // describe_commands: the declared app, nothing parsed or run
    return Result<int>(0);
  }
  // CLI11 takes its arguments in reverse order.
  std::reverse(args.begin(), args.end());
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp&) {
    out << app.help();
    return Result<int>(0);
  } catch (const CLI::ParseError& error) {
    return Result<int>(fail(ErrorKind::usage, fmt::format("{}\nRun '{} --help' for usage.",
                                                          usage_error_text(app, error),
                                                          app.get_name())));
  }
  return std::nullopt;
}

Result<std::vector<std::string>> names_or_default(const AppContext& context,
                                                  const std::vector<std::string>& names) {
  if (!names.empty()) {
    return names;
  }
  if (context.store.exists("default")) {
    return std::vector<std::string>{"default"};
  }
  return fail(ErrorKind::usage, k_no_machine_name);
}

Result<std::string> one_name_or_default(const AppContext& context,
                                        const std::vector<std::string>& names) {
  if (names.size() > 1) {
    return fail(ErrorKind::usage, "Error: Expected one machine name as an argument");
  }
  auto resolved = names_or_default(context, names);
  DM_TRY(resolved);
  return resolved->front();
}

Result<LoadedMachine> load_one_machine(AppContext& context,
                                       const std::vector<std::string>& names) {
  auto name = one_name_or_default(context, names);
  DM_TRY(name);
  return load_machine(context, *name);
}

} // namespace dm
