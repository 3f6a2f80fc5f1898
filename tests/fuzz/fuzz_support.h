#pragma once
// Shared pieces of the libFuzzer targets: the input as text, splitting it into
// parts, and a check that aborts (a crash for libFuzzer) when an invariant breaks.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace dm::fuzz {

inline std::string as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Splits at NUL bytes into at most max_parts parts (the last keeps the rest).
inline std::vector<std::string> split_parts(std::string_view text, size_t max_parts) {
  std::vector<std::string> parts;
  while (parts.size() + 1 < max_parts) {
    auto nul = text.find('\0');
    if (nul == std::string_view::npos) {
      break;
    }
    parts.emplace_back(text.substr(0, nul));
    text.remove_prefix(nul + 1);
  }
  parts.emplace_back(text);
  return parts;
}

// An invariant of the code under test; a broken one is reported like a crash.
inline void check(bool condition, const char* what, std::string_view detail = {}) {
  if (!condition) {
    std::fprintf(stderr, "fuzz invariant broken: %s\n%.*s\n", what,
                 static_cast<int>(detail.size()), detail.data());
    std::abort();
  }
}

// The variant being tried (below), printed when it makes the process terminate, so a
// report names the exact document and not only the input it came from.
inline std::string& current_variant() {
  static std::string variant;
  return variant;
}

[[noreturn]] inline void print_variant_and_abort() {
  std::fprintf(stderr, "terminate called");
  if (auto error = std::current_exception()) {
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      std::fprintf(stderr, " after an uncaught exception: %s", e.what());
    } catch (...) {
      std::fprintf(stderr, " after an uncaught exception");
    }
  }
  if (!current_variant().empty()) {
    std::fprintf(stderr, "\nwhile trying this variant of the input:\n%s",
                 current_variant().c_str());
  }
  std::fprintf(stderr, "\n");
  std::abort();
}

// Wrong-typed fields, the class of input that random byte mutations rarely reach: when
// text is a JSON document, calls use(variant) for copies of it in which one value (a
// leaf, or a whole object or array) is replaced by a value of another type. Which type
// replaces which value depends on the input's hash, so a run tries them all.
inline void with_retyped_values(const std::string& text,
                                const std::function<void(const std::string&)>& use) {
  using nlohmann::json;
  auto doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_structured()) {
    return;
  }
  static const json replacements[] = {"",   "x\ny", 0,   -1,          2.5,          true,
                                      false, nullptr, json::array(), json::object(),
                                      json::array({"a", 1}), json::object({{"a", 1}})};
  constexpr size_t k_max_values = 256;
  std::vector<json::json_pointer> values;
  std::function<void(const json&, const json::json_pointer&)> walk =
      [&](const json& node, const json::json_pointer& at) {
        if (values.size() >= k_max_values) {
          return;
        }
        if (!at.empty()) {
          values.push_back(at);
        }
        if (node.is_object()) {
          for (const auto& [key, child] : node.items()) {
            walk(child, at / key);
          }
        } else if (node.is_array()) {
          for (size_t i = 0; i < node.size(); ++i) {
            walk(node[i], at / i);
          }
        }
      };
  walk(doc, json::json_pointer());
  static const auto previous_handler = std::set_terminate(print_variant_and_abort);
  (void)previous_handler;
  const size_t salt = std::hash<std::string>{}(text);
  const size_t count = sizeof replacements / sizeof replacements[0];
  for (size_t i = 0; i < values.size(); ++i) {
    json variant = doc;
    variant[values[i]] = replacements[(salt + i) % count];
    current_variant() = variant.dump();
    use(current_variant());
  }
  current_variant().clear();
}

} // namespace dm::fuzz
