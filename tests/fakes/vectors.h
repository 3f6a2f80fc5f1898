#pragma once
// Test support: the bytes of a file of tests/vectors (published known answers).
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace dm::testing {

inline std::filesystem::path vectors_dir() { return DM_VECTORS_DIR; }

// The file's bytes exactly (most vectors have no trailing newline).
inline std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

inline std::string vector_file(const std::filesystem::path& relative) {
  return read_bytes(vectors_dir() / relative);
}

} // namespace dm::testing
