#pragma once
// Man pages (roff) generated from the described commands, the global flags and the
// driver table: dmachine(1) and dmachine-COMMAND(1) per command (dmachine-cluster-create(1)
// per cluster subcommand). Written at build time by the hidden `dmachine __man DIR`.
#include "cmd/command_spec.h"
#include "core/driver.h"

#include <string>
#include <vector>

namespace dm {

struct ManPage {
  std::string file_name; // "dmachine-create.1"
  std::string text;
};

std::vector<ManPage> man_pages(const std::vector<CommandSpec>& commands,
                               const std::vector<GlobalFlag>& globals,
                               const std::vector<DriverEntry>& drivers, const std::string& version);

} // namespace dm
