#pragma once
// Errors and Result<T>: every I/O boundary returns Result; each layer adds the
// context of what it was doing; cmd/main.cpp maps ErrorKind to an exit code.
#include <string>
#include <tl/expected.hpp>
#include <utility>

namespace dm {

enum class ErrorKind {
  generic,          // exit 1
  usage,            // bad flags or arguments; exit 1
  not_found,        // machine does not exist; exit 1
  already_exists,   // exit 1
  not_running,      // "Host is not running"; exit 1
  precreate,        // a create whose pre-create check failed; exit 3
  ssh,              // connection, auth or host-key failure
  host_key_changed, // the pinned host key no longer matches
  timeout,
  interrupted,      // SIGINT/SIGTERM during an operation
  unsupported,      // an operation the driver or OS does not support
};

struct Error {
  ErrorKind kind = ErrorKind::generic;
  std::string message;

  // Returns a copy with "context: " in front of the message.
  [[nodiscard]] Error with_context(const std::string& context) const {
    return Error{kind, context + ": " + message};
  }
};

template <typename T> using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> fail(ErrorKind kind, std::string message) {
  return tl::unexpected<Error>(Error{kind, std::move(message)});
}
inline tl::unexpected<Error> fail(std::string message) {
  return fail(ErrorKind::generic, std::move(message));
}
inline tl::unexpected<Error> fail(Error error) { return tl::unexpected<Error>(std::move(error)); }

// Propagates an error with added context: return with_context(r, "provision").
template <typename T> tl::unexpected<Error> with_context(const Result<T>& r, const std::string& ctx) {
  return tl::unexpected<Error>(r.error().with_context(ctx));
}

} // namespace dm

#define DM_CONCAT_INNER_(a, b) a##b
#define DM_CONCAT_(a, b) DM_CONCAT_INNER_(a, b)

// Evaluates a Result expression; on error returns it from the enclosing function.
#define DM_TRY(expr) DM_TRY_IMPL_(expr, DM_CONCAT_(dm_try_result_, __COUNTER__))
#define DM_TRY_IMPL_(expr, var)                                                                \
  do {                                                                                         \
    auto&& var = (expr);                                                                       \
    if (!var) {                                                                                \
      return tl::unexpected<::dm::Error>(var.error());                                         \
    }                                                                                          \
  } while (false)

// Like DM_TRY, but prefixes the error message with ctx.
#define DM_TRY_CTX(expr, ctx) DM_TRY_CTX_IMPL_(expr, ctx, DM_CONCAT_(dm_try_result_, __COUNTER__))
#define DM_TRY_CTX_IMPL_(expr, ctx, var)                                                       \
  do {                                                                                         \
    auto&& var = (expr);                                                                       \
    if (!var) {                                                                                \
      return tl::unexpected<::dm::Error>(var.error().with_context(ctx));                       \
    }                                                                                          \
  } while (false)
