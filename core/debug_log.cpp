#include "core/debug_log.h"

#include <atomic>
#include <fmt/format.h>
#include <mutex>
#include <ostream>
#include <regex>

namespace dm {

namespace {

constexpr size_t k_excerpt_length = 300;

std::atomic<std::ostream*> g_out{nullptr};
std::mutex g_mutex;

struct Rule {
  std::regex pattern;
  const char* replacement;
};

const std::vector<Rule>& rules() {
  static const std::vector<Rule> table = [] {
    std::vector<Rule> built;
    auto add = [&](const char* pattern, const char* replacement) {
      built.push_back({std::regex(pattern, std::regex::ECMAScript | std::regex::icase), replacement});
    };
    add(R"(-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$))",
        "<redacted private key>");
    add(R"(SWMTKN-[0-9]+-[A-Za-z0-9-]+)", "SWMTKN-<redacted>");
    add(R"(\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+)", "$1 <redacted>");
    add(R"((Signature=)[0-9a-f]+)", "$1<redacted>");
    add(R"(((X-Amz-Security-Token|access_token|refresh_token|client_secret|assertion|secret_access_key|SecretAccessKey|SessionToken)["']?\s*[:=]\s*["']?)[^"'&\s,}]+)",
        "$1<redacted>");
    add(R"((Authorization:\s*)[^\r\n]+)", "$1<redacted>");
    return built;
  }();
  return table;
}

} // namespace

void enable_debug_log(std::ostream& out) { g_out.store(&out); }

void disable_debug_log() { g_out.store(nullptr); }

bool debug_enabled() { return g_out.load() != nullptr; }

void debug_log(std::string_view area, std::string_view text) {
  std::ostream* out = g_out.load();
  if (out == nullptr) {
    return;
  }
  const std::string line = fmt::format("[debug] {}: {}\n", area, redact_secrets(text));
  std::lock_guard lock(g_mutex);
  *out << line << std::flush;
}

std::string redact_secrets(std::string_view text) {
  std::string out(text);
  for (const auto& rule : rules()) {
    out = std::regex_replace(out, rule.pattern, rule.replacement);
  }
  return out;
}

std::string elapsed_since(std::chrono::steady_clock::time_point start) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  return ms < 1000 ? fmt::format("{} ms", ms) : fmt::format("{:.1f} s", static_cast<double>(ms) / 1000);
}

std::string debug_excerpt(std::string_view command) {
  std::string line = redact_secrets(command);
  for (char& c : line) {
    c = c == '\n' || c == '\r' || c == '\t' ? ' ' : c;
  }
  if (line.size() > k_excerpt_length) {
    line = fmt::format("{}... ({} bytes)", line.substr(0, k_excerpt_length), command.size());
  }
  return line;
}

} // namespace dm
