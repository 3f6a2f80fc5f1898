#pragma once
// Ctrl-C and SIGTERM: the first one sets a flag that long-running workflows check
// between steps (they then clean up and return ErrorKind::interrupted); a second
// one exits at once.
namespace dm {

void install_interrupt_handlers();
// True once a signal came, except on a thread inside a CleanupScope.
bool interrupted();

// Cleanup after a failure or an interrupt must run to its end: while a scope
// lives, interrupted() is false on its thread (a second signal still exits).
class CleanupScope {
public:
  CleanupScope();
  ~CleanupScope();
  CleanupScope(const CleanupScope&) = delete;
  CleanupScope& operator=(const CleanupScope&) = delete;
};

} // namespace dm
