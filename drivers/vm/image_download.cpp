#include "drivers/vm/image_download.h"

#include "core/printable.h"
#include "core/unique_fd.h"
#include "drivers/vm/image_progress.h"
#include "drivers/vm/image_source.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <map>
#include <optional>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

namespace dm::vm {

namespace fs = std::filesystem;

namespace {

constexpr double k_megabyte = 1000.0 * 1000.0;
constexpr int k_small_file_timeout_seconds = 60;

std::string errno_text(int error) {
  return std::strerror(error);
}

double megabytes(std::uint64_t bytes) {
  return static_cast<double>(bytes) / k_megabyte;
}

void remove_quietly(const fs::path& path) {
  ::unlink(path.c_str());
}

Result<void> write_all(int fd, std::string_view data, const fs::path& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return fail("write " + path.string() + ": " + errno_text(errno));
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

std::optional<std::uint64_t> parse_number(std::string_view text) {
  std::uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) {
    return std::nullopt;
  }
  return value;
}

std::optional<std::uint64_t> header_number(const std::map<std::string, std::string>& headers,
                                           const std::string& name) {
  auto found = headers.find(name);
  return found == headers.end() ? std::nullopt : parse_number(found->second);
}

// "bytes START-END/TOTAL" (TOTAL may be '*') or, on a 416, "bytes */TOTAL".
struct ContentRange {
  std::optional<std::uint64_t> start;
  std::optional<std::uint64_t> total;
};

std::optional<ContentRange> parse_content_range(const std::map<std::string, std::string>& headers) {
  auto found = headers.find("content-range");
  if (found == headers.end() || found->second.rfind("bytes ", 0) != 0) {
    return std::nullopt;
  }
  std::string_view value = std::string_view(found->second).substr(6);
  auto slash = value.find('/');
  if (slash == std::string_view::npos) {
    return std::nullopt;
  }
  ContentRange range;
  std::string_view span = value.substr(0, slash);
  std::string_view total = value.substr(slash + 1);
  if (total != "*") {
    range.total = parse_number(total);
    if (!range.total) {
      return std::nullopt;
    }
  }
  if (span != "*") {
    auto dash = span.find('-');
    range.start = parse_number(span.substr(0, dash));
    if (dash == std::string_view::npos || !range.start || !parse_number(span.substr(dash + 1))) {
      return std::nullopt;
    }
  }
  return range;
}

std::string http_status_advice(int status) {
  if (status == 404 || status == 410) {
    return "the server has no such file: check the URL";
  }
  if (status == 401 || status == 403) {
    return "the server refuses access: check the URL";
  }
  if (status >= 500) {
    return "the server failed: try again later";
  }
  return "check the URL";
}

// A small body (a SUMS file) in memory, refused beyond a limit.
class CappedSink final : public HttpBodySink {
public:
  explicit CappedSink(std::size_t limit) : m_limit(limit) {}
  Result<void> begin(int /*status*/, const std::map<std::string, std::string>& headers) override {
    auto length = header_number(headers, "content-length");
    if (length && *length > m_limit) {
      return too_big();
    }
    return {};
  }
  Result<void> write(std::string_view chunk) override {
    if (m_body.size() + chunk.size() > m_limit) {
      return too_big();
    }
    m_body.append(chunk);
    return {};
  }
  std::string& body() { return m_body; }

private:
  Result<void> too_big() const {
    return fail(fmt::format("larger than {} bytes: not a checksum file", m_limit));
  }
  std::size_t m_limit;
  std::string m_body;
};

// Writes a 2xx body to the .part file behind what is already there (a 206 answer to our
// Range request) or from the start (a 200), hashing what it writes.
class PartFileSink final : public HttpBodySink {
public:
  PartFileSink(int fd, fs::path part, DigestHasher& hasher, std::uint64_t offset,
               TransferMeter& meter)
      : m_fd(fd), m_part(std::move(part)), m_hasher(hasher), m_offset(offset), m_meter(meter) {}

  Result<void> begin(int status, const std::map<std::string, std::string>& headers) override {
    std::optional<std::uint64_t> total;
    if (status == 206) {
      auto range = parse_content_range(headers);
      if (!range || range->start != m_offset) {
        m_start_over = true;
        return fail("the server answered the Range request with another range");
      }
      total = range->total;
    } else {
      if (m_offset > 0) {
        // The server ignored the Range header: the whole file comes again.
        m_offset = 0;
        m_hasher.reset();
        m_restarted = true;
        if (::ftruncate(m_fd, 0) != 0) {
          return fail("truncate " + m_part.string() + ": " + errno_text(errno));
        }
      }
      total = header_number(headers, "content-length");
    }
    if (::lseek(m_fd, static_cast<off_t>(m_offset), SEEK_SET) < 0) {
      return fail("seek " + m_part.string() + ": " + errno_text(errno));
    }
    if (total && *total > m_offset) {
      DM_TRY(check_space(*total - m_offset));
    }
    m_meter.start(m_offset, total.value_or(0));
    return {};
  }

  Result<void> write(std::string_view chunk) override {
    DM_TRY(write_all(m_fd, chunk, m_part));
    m_hasher.update(chunk);
    m_offset += chunk.size();
    m_meter.update(m_offset);
    return {};
  }

  // Bytes in the part file that were written whole (and hashed).
  [[nodiscard]] std::uint64_t size() const { return m_offset; }
  [[nodiscard]] bool restarted() const { return m_restarted; }
  [[nodiscard]] bool start_over() const { return m_start_over; }

private:
  Result<void> check_space(std::uint64_t needed) const {
    struct statvfs info {};
    if (::fstatvfs(m_fd, &info) != 0) {
      return {}; // unknown: the writes will tell
    }
    auto available = static_cast<std::uint64_t>(info.f_bavail) * info.f_frsize;
    if (needed > available) {
      return fail(fmt::format("not enough space in {}: the image needs {:.1f} MB more, {:.1f} MB "
                              "are free; free some space or use another store (-s)",
                              m_part.parent_path().string(), megabytes(needed),
                              megabytes(available)));
    }
    return {};
  }

  int m_fd;
  fs::path m_part;
  DigestHasher& m_hasher;
  std::uint64_t m_offset;
  TransferMeter& m_meter;
  bool m_restarted = false;
  bool m_start_over = false;
};

} // namespace

Result<std::string> fetch_small_file(const std::string& url, HttpClient& http,
                                     const ImageFetchOptions& options) {
  CappedSink sink(options.sums_size_limit);
  HttpRequest request;
  request.url = url;
  request.timeout_seconds = k_small_file_timeout_seconds;
  request.connect_timeout_ms = options.connect_timeout_seconds * 1000;
  request.redirects = HttpRequest::Redirects::follow;
  request.body_sink = &sink;
  auto response = http.send(request);
  DM_TRY(response);
  if (response->status != 200) {
    return fail(fmt::format("GET {}: HTTP {}: {}", url, response->status,
                            http_status_advice(response->status)));
  }
  return std::move(sink.body());
}

Result<PartDownload> download_to_part(const std::string& url, const fs::path& part,
                                      DigestAlgorithm algorithm, Resume resume, HttpClient& http,
                                      Progress& progress, const ImageFetchOptions& options) {
  UniqueFd file(::open(part.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (file.get() < 0) {
    return fail("create " + part.string() + ": " + errno_text(errno));
  }
  struct stat info {};
  if (::fstat(file.get(), &info) != 0) {
    return fail("stat " + part.string() + ": " + errno_text(errno));
  }
  auto existing = static_cast<std::uint64_t>(info.st_size);
  std::string subject = printable(url_file_name(url), 80);
  if (resume == Resume::no && existing > 0) {
    if (::ftruncate(file.get(), 0) != 0) {
      return fail("truncate " + part.string() + ": " + errno_text(errno));
    }
    existing = 0;
  }
  DigestHasher hasher(algorithm);
  HttpRequest request;
  request.url = url;
  request.redirects = HttpRequest::Redirects::follow;
  request.connect_timeout_ms = options.connect_timeout_seconds * 1000;
  request.stall_timeout_seconds = options.stall_timeout_seconds;
  if (existing > 0) {
    TransferMeter checking(progress, "checking the partial download", subject);
    checking.start(0, existing);
    auto hashed = hash_file_into(hasher, part, static_cast<std::int64_t>(existing),
                                 [&](std::uint64_t bytes) { checking.update(bytes); });
    DM_TRY(hashed);
    progress.note(
        fmt::format("resuming the download of {} at {:.1f} MB", url, megabytes(existing)));
    request.headers["Range"] = fmt::format("bytes={}-", existing);
  }
  TransferMeter meter(progress, "downloading", subject);
  PartFileSink sink(file.get(), part, hasher, existing, meter);
  request.body_sink = &sink;
  auto response = http.send(request);

  // Whatever happened, the part file keeps exactly the bytes that were hashed, durably.
  if (::ftruncate(file.get(), static_cast<off_t>(sink.size())) != 0 || ::fsync(file.get()) != 0) {
    return fail("write " + part.string() + ": " + errno_text(errno));
  }
  if (sink.start_over()) {
    return PartDownload{{}, false, true};
  }
  if (!response) {
    std::string kept = sink.size() > 0
                           ? fmt::format("; the partial download ({:.1f} MB) is kept and resumes "
                                         "on the next run",
                                         megabytes(sink.size()))
                           : std::string();
    if (sink.size() == 0) {
      remove_quietly(part);
    }
    return fail(Error{response.error().kind, response.error().message + kept});
  }
  if (response->status == 416 && existing > 0) {
    // The part is as long as the file (or longer): it is complete if its size is the file's.
    auto range = parse_content_range(response->headers);
    if (range && range->total == existing) {
      return PartDownload{hasher.finish(), true, false};
    }
    return PartDownload{{}, false, true};
  }
  if (response->status < 200 || response->status >= 300) {
    if (sink.size() == 0 || response->status == 404 || response->status == 410) {
      remove_quietly(part);
    }
    return fail(fmt::format("GET {}: HTTP {}: {}", url, response->status,
                            http_status_advice(response->status)));
  }
  return PartDownload{hasher.finish(), existing > 0 && !sink.restarted(), false};
}

} // namespace dm::vm
