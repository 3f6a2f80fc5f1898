#include "cmd/man_pages.h"

#include <fmt/format.h>
#include <sstream>

namespace dm {

namespace {

// Text for roff: backslashes escaped, dashes as \-, and a line starting with
// '.' or '\'' protected so that it is never read as a request.
std::string roff(const std::string& text) {
  std::string out;
  bool line_start = true;
  for (char c : text) {
    if (line_start && (c == '.' || c == '\'')) {
      out += "\\&";
    }
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else {
      out += c;
    }
    line_start = c == '\n';
  }
  return out;
}

std::string upper(std::string text) {
  for (char& c : text) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return text;
}

std::string page_name(const std::string& command) {
  std::string name = "dmachine-" + command;
  for (char& c : name) {
    c = c == ' ' ? '-' : c;
  }
  return name;
}

std::string header(const std::string& name, const std::string& summary, const std::string& version) {
  return fmt::format(".TH {} 1 \"\" \"dmachine {}\" \"dmachine manual\"\n.SH NAME\n{} \\- {}\n",
                     upper(name), version, roff(name), roff(summary));
}

// Splits a help description into its "Usage:" lines and the rest.
void split_usage(const std::string& description, std::vector<std::string>& usage, std::string& rest) {
  std::istringstream lines(description);
  std::string line;
  bool in_usage = false;
  while (std::getline(lines, line)) {
    if (line.rfind("Usage: ", 0) == 0) {
      usage.push_back(line.substr(7));
      in_usage = true;
      continue;
    }
    if (in_usage && line.rfind("       ", 0) == 0) {
      usage.push_back(line.substr(7));
      continue;
    }
    in_usage = false;
    rest += line + "\n";
  }
  while (!rest.empty() && rest.back() == '\n') {
    rest.pop_back();
  }
}

std::string paragraphs(const std::string& text) {
  std::string out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    out += line.empty() ? ".PP\n" : roff(line) + "\n";
  }
  return out;
}

std::string flag_item(const std::vector<std::string>& names, bool takes_value, const std::string& help,
                      const std::string& default_value, const std::string& env_var) {
  std::string item = ".TP\n";
  for (size_t i = 0; i < names.size(); ++i) {
    item += fmt::format("{}\\fB{}\\fR", i == 0 ? "" : ", ", roff(names[i]));
  }
  item += takes_value ? " \\fIvalue\\fR\n" : "\n";
  std::string text = help;
  if (!default_value.empty()) {
    text += " (default \"" + default_value + "\")";
  }
  if (!env_var.empty()) {
    text += " [$" + env_var + "]";
  }
  return item + roff(text) + "\n";
}

std::string driver_section(const std::vector<DriverEntry>& drivers) {
  std::string text = ".SH DRIVERS\n";
  for (const auto& driver : drivers) {
    text += fmt::format(".SS \"{} \\- {}\"\n", roff(driver.name), roff(driver.summary));
    for (const auto& flag : driver.flags) {
      text += flag_item({"--" + flag.name}, flag.type != FlagType::boolean, flag.help,
                        flag.default_value, flag.env_var);
    }
  }
  return text;
}

ManPage command_page(const CommandSpec& spec, const std::vector<DriverEntry>& drivers,
                     const std::string& version) {
  const std::string name = page_name(spec.name);
  std::string text = header(name, spec.summary, version);
  std::vector<std::string> usage;
  std::string rest;
  split_usage(spec.description, usage, rest);
  text += ".SH SYNOPSIS\n";
  if (usage.empty()) {
    usage.push_back("dmachine " + spec.name + " [OPTIONS] [arg...]");
  }
  for (const auto& line : usage) {
    text += roff(line) + "\n.br\n";
  }
  if (!rest.empty()) {
    text += ".SH DESCRIPTION\n" + paragraphs(rest);
  }
  bool has_driver = false;
  std::string options;
  for (const auto& flag : spec.flags) {
    has_driver = has_driver || flag.names.front() == "--driver";
    if (!flag.hidden) {
      options += flag_item(flag.names, flag.takes_value, flag.help, flag.default_value, flag.env_var);
    }
  }
  if (!options.empty()) {
    text += ".SH OPTIONS\n" + options;
  }
  if (has_driver) {
    text += driver_section(drivers);
  }
  if (!spec.subcommands.empty()) {
    text += ".SH COMMANDS\n";
    for (const auto& sub : spec.subcommands) {
      text += fmt::format(".TP\n\\fB{}\\fR(1)\n{}\n", roff(page_name(sub.name)), roff(sub.summary));
    }
  }
  text += ".SH SEE ALSO\n\\fBdmachine\\fR(1)\n";
  return {name + ".1", text};
}

} // namespace

std::vector<ManPage> man_pages(const std::vector<CommandSpec>& commands,
                               const std::vector<GlobalFlag>& globals,
                               const std::vector<DriverEntry>& drivers, const std::string& version) {
  std::vector<ManPage> pages;
  std::string main = header("dmachine", "create and manage machines running Docker", version);
  main += ".SH SYNOPSIS\n\\fBdmachine\\fR [\\fIOPTIONS\\fR] \\fICOMMAND\\fR [\\fIarg\\fR...]\n";
  main += ".SH DESCRIPTION\nProvision Docker hosts: real Linux hosts with a Docker engine "
          "reached over TLS, kept in a docker\\-machine compatible store.\n";
  main += ".SH OPTIONS\n";
  for (const auto& flag : globals) {
    std::vector<std::string> names = {flag.long_name};
    if (flag.short_name != nullptr) {
      names.emplace_back(flag.short_name);
    }
    main += flag_item(names, flag.value_name != nullptr, flag.help, "",
                      flag.env_var != nullptr ? flag.env_var : "");
  }
  main += ".SH COMMANDS\n";
  for (const auto& spec : commands) {
    main += fmt::format(".TP\n\\fB{}\\fR(1)\n{}\n", roff(page_name(spec.name)), roff(spec.summary));
    pages.push_back(command_page(spec, drivers, version));
    for (const auto& sub : spec.subcommands) {
      pages.push_back(command_page(sub, drivers, version));
    }
  }
  main += ".SH FILES\n.TP\n\\fI~/.docker/machine\\fR\nThe store: certs/, machines/NAME/config.json "
          "(or $MACHINE_STORAGE_PATH).\n";
  pages.insert(pages.begin(), ManPage{"dmachine.1", main});
  return pages;
}

} // namespace dm
