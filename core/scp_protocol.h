#pragma once
// The SCP protocol's control records ("C0644 5 name", "D0755 0 dir", "E",
// "T...", and \1 / \2 error messages), as a remote `scp -f` sends them.
// Names are untrusted: only one plain path component is accepted (CVE-2019-6111).
#include "core/result.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace dm {

enum class ScpRecordKind { file, directory, end_directory, times, warning, fatal };

struct ScpRecord {
  ScpRecordKind kind = ScpRecordKind::file;
  int mode = 0;       // file and directory: permission bits (0..07777)
  uint64_t size = 0;  // file: bytes that follow the record
  std::string text;   // file and directory: the name; warning and fatal: the message
};

// Parses one record line, without its trailing '\n'. A malformed record or an
// unsafe name is an error that says why.
Result<ScpRecord> parse_scp_record(std::string_view line);

// True for a single path component: not empty, not "." or "..", no '/', no '\n'.
bool is_safe_scp_name(std::string_view name);

// The record announcing a file or a directory to a remote `scp -t`.
std::string scp_file_record(int mode, uint64_t size, std::string_view name);
std::string scp_directory_record(int mode, std::string_view name);

} // namespace dm
