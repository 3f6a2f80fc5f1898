#pragma once
// Small helpers of the local driver: text and number parsing, files written with
// an exact mode, the apt mirror, and the system tools (ip, iptables, ...) it runs.
#include "core/process_runner.h"
#include "core/result.h"

#include <array>
#include <filesystem>
#include <string>
#include <vector>

namespace dm::local {

constexpr int k_tool_timeout_seconds = 60;
constexpr int k_poll_ms = 100;

// text without leading and trailing white space.
std::string trim(std::string text);
// The whole file, or "" when it cannot be read.
std::string read_text(const std::filesystem::path& path);
// The words of text, split on white space.
std::vector<std::string> split_ws(const std::string& text);
// The 32-bit FNV-1a hash of text as 8 hex digits (a short stable machine id).
std::string fnv1a_hex(const std::string& text);
// True when all of text is one decimal number; it is stored in value.
bool parse_int(const std::string& text, long& value);
// True when text is a.b.c.d with four octets 0-255; they are stored in octets.
bool parse_ipv4(const std::string& text, std::array<int, 4>& octets);
// Writes data atomically, then sets exactly mode (whatever the umask).
Result<void> write_file(const std::filesystem::path& path, const std::string& data, int mode);
// Makes path and its parents, then sets exactly mode on path.
Result<void> make_dir(const std::filesystem::path& path, int mode);
// True when name is an executable in /usr/sbin, /usr/bin, /sbin, /bin or /usr/local/{sbin,bin}.
bool tool_exists(const std::string& name);
// The first Debian mirror URI of this computer's apt sources that is not -security,
// else http://deb.debian.org/debian.
std::string detect_mirror();
// The mount points of this mount namespace (/proc/self/mountinfo, octal escapes decoded).
std::vector<std::filesystem::path> mount_points();
// The mount points named by the text of a mountinfo file.
std::vector<std::filesystem::path> parse_mountinfo(const std::string& text);
// The mount points strictly below dir, deepest first (of points, or of mount_points()).
std::vector<std::filesystem::path> mounts_below(const std::filesystem::path& dir,
                                                const std::vector<std::filesystem::path>& points);
std::vector<std::filesystem::path> mounts_below(const std::filesystem::path& dir);
// True when something is mounted below dir (per /proc/self/mountinfo).
bool mounted_below(const std::filesystem::path& dir);
// Deletes dir and everything in it without ever entering a mount: everything mounted
// below it is detached first (deepest first); fails when a mount stays or a file cannot go.
Result<void> remove_tree(const std::filesystem::path& dir);
// True when path is absolute and lexically normal (no "." or ".." parts, no trailing "/").
bool is_normal_absolute(const std::string& path);

// Runs system tools through the driver's ProcessRunner, with a timeout.
class ToolRunner {
public:
  explicit ToolRunner(ProcessRunner* runner) : m_runner(runner) {}

  // Runs argv; a non-zero exit is not an error. Fails when there is no process runner.
  Result<ProcessResult> run(const std::vector<std::string>& argv,
                            int timeout_seconds = k_tool_timeout_seconds) const;
  // Runs argv; a non-zero exit is an error quoting (the end of) what the tool said.
  Result<void> run_ok(const std::vector<std::string>& argv,
                      int timeout_seconds = k_tool_timeout_seconds) const;

private:
  ProcessRunner* m_runner = nullptr;
};

// Writes a value into a /proc/sys file; false when the kernel refuses it.
bool write_proc_value(const std::filesystem::path& path, const std::string& value);
// Raises the inotify, kernel-key and neighbour-table allowances that many systemd hosts share
// (never lowers them); an error says which could not be raised.
Result<void> raise_host_limits();

} // namespace dm::local
