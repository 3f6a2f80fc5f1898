// `env` output with arbitrary values (a value comes from an untrusted record, e.g.
// its IP address or store path): for every shell the output stays one statement per
// variable, each on its own line starting with that shell's set/unset statement, then
// the two hint lines. A raw newline in a value would start a statement of its own.
// Input: up to four values separated by NUL.
#include "core/shell_env.h"
#include "tests/fuzz/fuzz_support.h"

#include <fmt/format.h>

namespace {

constexpr dm::ShellKind k_shells[] = {dm::ShellKind::posix, dm::ShellKind::fish,
                                      dm::ShellKind::powershell, dm::ShellKind::cmd,
                                      dm::ShellKind::emacs, dm::ShellKind::tcsh};
constexpr const char* k_keys[] = {"DOCKER_TLS_VERIFY", "DOCKER_HOST", "DOCKER_CERT_PATH",
                                  "DOCKER_MACHINE_NAME"};

std::string set_prefix(dm::ShellKind shell, const std::string& key) {
  switch (shell) {
  case dm::ShellKind::posix:
    return fmt::format("export {}=", key);
  case dm::ShellKind::fish:
    return fmt::format("set -gx {} ", key);
  case dm::ShellKind::powershell:
    return fmt::format("$Env:{} = ", key);
  case dm::ShellKind::cmd:
    return fmt::format("SET {}=", key);
  case dm::ShellKind::emacs:
    return fmt::format("(setenv \"{}\" ", key);
  case dm::ShellKind::tcsh:
    return fmt::format("setenv {} ", key);
  }
  return "";
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) {
      lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto values = dm::fuzz::split_parts(dm::fuzz::as_text(data, size), 4);
  dm::EnvVars vars;
  for (std::size_t i = 0; i < values.size(); ++i) {
    vars.emplace_back(k_keys[i], values[i]);
  }
  for (auto shell : k_shells) {
    std::string text = dm::render_env_set(shell, vars, "dmachine env web1");
    auto lines = lines_of(text);
    dm::fuzz::check(lines.size() == vars.size() + 2,
                    "env prints one line per variable plus two hint lines", text);
    for (std::size_t i = 0; i < vars.size(); ++i) {
      dm::fuzz::check(lines[i].rfind(set_prefix(shell, vars[i].first), 0) == 0,
                      "each variable's line starts with its set statement", text);
    }
  }
  return 0;
}
