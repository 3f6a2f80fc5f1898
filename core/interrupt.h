#pragma once
// Ctrl-C and SIGTERM: the first one sets a flag that long-running workflows check
// between steps (they then clean up and return ErrorKind::interrupted); a second
// one exits at once.
namespace dm {

void install_interrupt_handlers();
bool interrupted();

} // namespace dm
