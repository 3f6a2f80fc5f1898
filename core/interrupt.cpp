#include "core/interrupt.h"

#include <atomic>
#include <csignal>
#include <unistd.h>

namespace dm {

namespace {

std::atomic<int> g_signals{0};
thread_local int t_cleanup_depth = 0;

void on_signal(int signal_number) {
  if (g_signals.fetch_add(1) > 0) {
    // Second signal: the user insists. _exit is async-signal-safe.
    _exit(128 + signal_number);
  }
  const char message[] = "\nInterrupted: cleaning up (press Ctrl-C again to quit at once)\n";
  [[maybe_unused]] auto written = write(STDERR_FILENO, message, sizeof(message) - 1);
}

} // namespace

void install_interrupt_handlers() {
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

bool interrupted() { return g_signals.load() > 0 && t_cleanup_depth == 0; }

CleanupScope::CleanupScope() { ++t_cleanup_depth; }

CleanupScope::~CleanupScope() { --t_cleanup_depth; }

} // namespace dm
