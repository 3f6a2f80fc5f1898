#include "cmd/exec_program.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <iostream>
#include <unistd.h>

namespace dm {

Result<int> exec_program(std::vector<std::string> argv, const std::string& missing_message) {
  std::vector<char*> raw;
  for (auto& word : argv) {
    raw.push_back(word.data());
  }
  raw.push_back(nullptr);
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  execvp(raw[0], raw.data());
  if (errno == ENOENT) {
    return fail(missing_message);
  }
  return fail(fmt::format("run {}: {}", argv[0], std::strerror(errno)));
}

bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string directories = path != nullptr ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (true) {
    size_t end = directories.find(':', start);
    std::string directory = directories.substr(start, end - start);
    if (!directory.empty() && access((directory + "/" + program).c_str(), X_OK) == 0) {
      return true;
    }
    if (end == std::string::npos) {
      return false;
    }
    start = end + 1;
  }
}

} // namespace dm
