#include "core/scp_protocol.h"
#include "core/printable.h"

#include <charconv>
#include <fmt/format.h>

namespace dm {

namespace {

Result<ScpRecord> malformed(std::string_view line, std::string_view why) {
  return fail(ErrorKind::ssh, fmt::format("the remote scp sent a malformed record \"{}\": {}",
                                          printable(line), why));
}

// "C0644 5 name" / "D0755 0 name": 4 octal digits, a size, one space, the name.
Result<ScpRecord> parse_entry(std::string_view line, ScpRecordKind kind) {
  ScpRecord record;
  record.kind = kind;
  std::string_view rest = line.substr(1);
  if (rest.size() < 5 || rest[4] != ' ') {
    return malformed(line, "expected a 4-digit octal mode");
  }
  for (char c : rest.substr(0, 4)) {
    if (c < '0' || c > '7') {
      return malformed(line, "expected a 4-digit octal mode");
    }
    record.mode = record.mode * 8 + (c - '0');
  }
  rest.remove_prefix(5);
  auto space = rest.find(' ');
  if (space == 0 || space == std::string_view::npos) {
    return malformed(line, "expected a size and a name");
  }
  std::string_view digits = rest.substr(0, space);
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), record.size);
  if (error != std::errc() || end != digits.data() + digits.size()) {
    return malformed(line, "the size is not a number");
  }
  std::string_view name = rest.substr(space + 1);
  if (!is_safe_scp_name(name)) {
    return fail(ErrorKind::ssh,
                fmt::format("the remote scp sent the unsafe file name \"{}\" (a name must be one "
                            "path component: no '/', not \".\", \"..\" or empty); nothing was "
                            "written for it",
                            printable(name)));
  }
  record.text = std::string(name);
  return record;
}

} // namespace

bool is_safe_scp_name(std::string_view name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find_first_of(std::string_view("/\n\0", 3)) == std::string_view::npos;
}

Result<ScpRecord> parse_scp_record(std::string_view line) {
  if (line.empty()) {
    return malformed(line, "empty record");
  }
  switch (line[0]) {
  case 'C':
    return parse_entry(line, ScpRecordKind::file);
  case 'D':
    return parse_entry(line, ScpRecordKind::directory);
  case 'E':
    if (line.size() != 1) {
      return malformed(line, "unexpected text after E");
    }
    return ScpRecord{ScpRecordKind::end_directory, 0, 0, ""};
  case 'T':
    return ScpRecord{ScpRecordKind::times, 0, 0, ""};
  case '\1':
    return ScpRecord{ScpRecordKind::warning, 0, 0, printable(line.substr(1))};
  case '\2':
    return ScpRecord{ScpRecordKind::fatal, 0, 0, printable(line.substr(1))};
  default:
    return malformed(line, "unknown record type");
  }
}

std::string scp_file_record(int mode, uint64_t size, std::string_view name) {
  return fmt::format("C{:04o} {} {}\n", mode & 07777, size, name);
}

std::string scp_directory_record(int mode, std::string_view name) {
  return fmt::format("D{:04o} 0 {}\n", mode & 07777, name);
}

} // namespace dm
