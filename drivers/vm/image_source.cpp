#include "drivers/vm/image_source.h"

#include "core/digest.h"
#include "core/printable.h"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>
#include <optional>
#include <vector>

namespace dm::vm {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t k_max_url_length = 2048;
constexpr std::size_t k_cache_name_max = 80;

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) {
    return false;
  }
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
    if (c != prefix[i]) {
      return false;
    }
  }
  return true;
}

bool has_control(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
  });
}

// RFC 3986's unreserved and reserved characters, and '%' of an escape.
bool is_url_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
    return true;
  }
  return std::string_view("-._~:/?#[]@!$&'()*+,;=%").find(c) != std::string_view::npos;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// %XX escapes decoded; a malformed escape stays as it is.
std::string percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
        hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// The path of an http(s) URL (from the first '/' after the authority, without query or
// fragment); "" when it has none.
std::string_view url_path(std::string_view url) {
  auto scheme_end = url.find("://");
  std::string_view rest = scheme_end == std::string_view::npos ? url : url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find_first_of("?#"));
  auto slash = rest.find('/');
  return slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
}

// A plain base name: what a SUMS line may name and an image may be looked up by.
bool is_plain_name(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos &&
         !has_control(name);
}

Result<fs::path> local_path(std::string_view value, std::string_view what) {
  std::string text(value);
  if (starts_with_nocase(value, "file://")) {
    std::string_view rest = value.substr(7);
    if (starts_with_nocase(rest, "localhost/")) {
      rest = rest.substr(9);
    }
    if (rest.empty() || rest[0] != '/') {
      return fail(ErrorKind::usage,
                  fmt::format("{} \"{}\": a file:// URL must name a local absolute path "
                              "(file:///path/to/file)",
                              what, printable(value)));
    }
    text = percent_decode(rest);
  }
  if (text.empty() || has_control(text)) {
    return fail(ErrorKind::usage,
                fmt::format("{} \"{}\" is not a usable path", what, printable(value)));
  }
  std::error_code ec;
  fs::path absolute = fs::absolute(fs::path(text), ec);
  if (ec) {
    return fail(ErrorKind::usage,
                fmt::format("{} \"{}\": {}", what, printable(value), ec.message()));
  }
  return absolute.lexically_normal();
}

bool is_http_url(std::string_view value) {
  return starts_with_nocase(value, "http://") || starts_with_nocase(value, "https://");
}

Result<ChecksumSpec> parse_checksum(std::string_view value, std::string_view checksum_flag) {
  ChecksumSpec spec;
  if (value.empty()) {
    return spec;
  }
  auto context = fmt::format("{} \"{}\"", checksum_flag, printable(value));
  if (is_http_url(value)) {
    DM_TRY_CTX(check_download_url(value), context);
    spec.kind = ChecksumSpec::Kind::sums;
    spec.sums_url = std::string(value);
    return spec;
  }
  if (starts_with_nocase(value, "file://") || value.find('/') != std::string_view::npos) {
    auto path = local_path(value, checksum_flag);
    DM_TRY(path);
    spec.kind = ChecksumSpec::Kind::sums;
    spec.sums_path = *path;
    return spec;
  }
  auto digest = parse_digest(value);
  DM_TRY_CTX(digest, std::string(checksum_flag));
  spec.kind = ChecksumSpec::Kind::digest;
  spec.digest = *digest;
  return spec;
}

std::optional<DigestAlgorithm> algorithm_named_in(std::string_view sums_name) {
  std::string upper(sums_name);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  // Only the last path segment counts: a directory called sha256 says nothing.
  upper = upper.substr(upper.rfind('/') == std::string::npos ? 0 : upper.rfind('/') + 1);
  if (upper.find("SHA256") != std::string::npos) {
    return DigestAlgorithm::sha256;
  }
  if (upper.find("SHA512") != std::string::npos) {
    return DigestAlgorithm::sha512;
  }
  return std::nullopt;
}

// One line of a SUMS file split into name and hex; nullopt for lines of another shape.
struct SumsLine {
  std::string_view name;
  std::string_view hex;
  std::optional<DigestAlgorithm> tagged; // BSD lines say their algorithm
};

std::optional<SumsLine> split_sums_line(std::string_view line) {
  for (auto [tag, algorithm] : {std::pair{std::string_view("SHA256 ("), DigestAlgorithm::sha256},
                                std::pair{std::string_view("SHA512 ("), DigestAlgorithm::sha512}}) {
    if (line.substr(0, tag.size()) == tag) {
      auto close = line.rfind(") = ");
      if (close == std::string_view::npos || close < tag.size()) {
        return std::nullopt;
      }
      return SumsLine{line.substr(tag.size(), close - tag.size()), line.substr(close + 4),
                      algorithm};
    }
  }
  // GNU: "<hex> <mode><name>" with mode ' ' (text) or '*' (binary); a lone space is also seen.
  auto space = line.find(' ');
  if (space == std::string_view::npos || space == 0) {
    return std::nullopt;
  }
  std::string_view name = line.substr(space + 1);
  if (!name.empty() && (name[0] == ' ' || name[0] == '*')) {
    name.remove_prefix(1);
  }
  return SumsLine{name, line.substr(0, space), std::nullopt};
}

} // namespace

std::string ImageSource::display() const {
  return kind == Kind::url ? url : path.string();
}

std::string ImageSource::file_name() const {
  if (kind == Kind::local_file) {
    return path.filename().string();
  }
  return percent_decode(url_file_name(url));
}

ImageSource default_image_source() {
  ImageSource source;
  source.kind = ImageSource::Kind::url;
  source.url = std::string(k_default_image_url);
  source.checksum.kind = ChecksumSpec::Kind::sums;
  source.checksum.sums_url = sibling_url(k_default_image_url, k_default_image_sums_name);
  return source;
}

Result<void> check_download_url(std::string_view url) {
  if (!is_http_url(url)) {
    return fail(ErrorKind::usage, "only http:// and https:// URLs can be downloaded");
  }
  if (url.size() > k_max_url_length) {
    return fail(ErrorKind::usage, fmt::format("the URL is {} characters long (at most {})",
                                              url.size(), k_max_url_length));
  }
  auto bad = std::find_if_not(url.begin(), url.end(), is_url_char);
  if (bad != url.end()) {
    return fail(ErrorKind::usage,
                fmt::format("the URL has a character a URL cannot hold (\"{}\"): percent-encode "
                            "spaces and non-ASCII characters",
                            printable(std::string_view(&*bad, 1))));
  }
  std::string_view rest = url.substr(url.find("://") + 3);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') != std::string_view::npos) {
    return fail(ErrorKind::usage, "the URL holds credentials (user@host): they would be stored "
                                  "with the machine; use a URL without them");
  }
  // "host", "host:port", "[v6]", "[v6]:port" (an unclosed '[' leaves no host)
  std::string_view host;
  if (!authority.empty()) {
    host = authority[0] == '[' ? authority.substr(0, authority.find(']') + 1)
                               : authority.substr(0, authority.find(':'));
  }
  if (host.empty() || host == "[]") {
    return fail(ErrorKind::usage, "the URL has no host");
  }
  return {};
}

Result<ImageSource> parse_image_source(std::string_view image, std::string_view checksum,
                                       std::string_view flag) {
  std::string checksum_flag = std::string(flag) + "-checksum";
  if (image.empty()) {
    if (!checksum.empty()) {
      return fail(ErrorKind::usage, fmt::format("{} needs {}: the default image is verified "
                                                "against its publisher's checksums",
                                                checksum_flag, flag));
    }
    return default_image_source();
  }
  auto context = fmt::format("{} \"{}\"", flag, printable(image));
  ImageSource source;
  auto spec = parse_checksum(checksum, checksum_flag);
  DM_TRY(spec);
  source.checksum = *spec;
  if (is_http_url(image)) {
    DM_TRY_CTX(check_download_url(image), context);
    source.kind = ImageSource::Kind::url;
    source.url = std::string(image);
    if (starts_with_nocase(image, "http://") && source.checksum.kind == ChecksumSpec::Kind::none) {
      return fail(ErrorKind::usage,
                  fmt::format("{}: a plain http:// download is checked against nothing: give {} "
                              "sha256:<hex> (or the URL of the publisher's SHA256SUMS), or use "
                              "https://",
                              context, checksum_flag));
    }
    return source;
  }
  auto scheme = image.find("://");
  if (scheme != std::string_view::npos && !starts_with_nocase(image, "file://")) {
    return fail(ErrorKind::usage,
                fmt::format("{}: the scheme \"{}\" is not supported: use https://, http://, "
                            "file:// or a path",
                            context, printable(image.substr(0, scheme), 20)));
  }
  auto path = local_path(image, flag);
  DM_TRY(path);
  source.kind = ImageSource::Kind::local_file;
  source.path = *path;
  return source;
}

Result<Digest> find_in_sums(std::string_view sums_text, std::string_view file_name,
                            std::string_view sums_name) {
  if (!is_plain_name(file_name)) {
    return fail(fmt::format("the image's file name \"{}\" cannot be looked up in {}: give the "
                            "digest itself (sha256:<hex>)",
                            printable(file_name), printable(sums_name)));
  }
  auto named = algorithm_named_in(sums_name);
  std::optional<Digest> found;
  std::vector<std::string> others;
  std::size_t start = 0;
  while (start < sums_text.size()) {
    auto end = sums_text.find('\n', start);
    std::string_view line = sums_text.substr(
        start, end == std::string_view::npos ? std::string_view::npos : end - start);
    start = end == std::string_view::npos ? sums_text.size() : end + 1;
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    // GNU tools write names with special characters escaped and a leading '\': never plain.
    if (line.empty() || line[0] == '#' || line[0] == '\\') {
      continue;
    }
    auto parts = split_sums_line(line);
    if (!parts || !is_plain_name(parts->name)) {
      continue;
    }
    if (parts->name != file_name) {
      if (others.size() < 5) {
        others.emplace_back(parts->name.substr(0, 80));
      }
      continue;
    }
    std::optional<DigestAlgorithm> algorithm = parts->tagged ? parts->tagged : named;
    if (!algorithm) {
      if (parts->hex.size() == 64 || parts->hex.size() == 128) {
        algorithm = parts->hex.size() == 64 ? DigestAlgorithm::sha256 : DigestAlgorithm::sha512;
      } else {
        return fail(fmt::format("{}: the line for \"{}\" has a digest of {} hex digits; only "
                                "SHA-256 (64) and SHA-512 (128) are accepted",
                                printable(sums_name), printable(file_name), parts->hex.size()));
      }
    }
    auto digest = digest_from_hex(*algorithm, parts->hex);
    if (!digest) {
      return fail(fmt::format("{}: the line for \"{}\": {}", printable(sums_name),
                              printable(file_name), digest.error().message));
    }
    if (found && !(*found == *digest)) {
      return fail(fmt::format("{} lists \"{}\" twice with different checksums: refusing to "
                              "guess; give the digest itself (sha256:<hex>)",
                              printable(sums_name), printable(file_name)));
    }
    found = *digest;
  }
  if (!found) {
    std::string listed;
    for (const auto& name : others) {
      listed += (listed.empty() ? "" : ", ") + printable(name);
    }
    return fail(fmt::format("{} has no line for \"{}\"{}; check the image URL or the checksum "
                            "file",
                            printable(sums_name), printable(file_name),
                            listed.empty() ? std::string(" (no usable lines at all)")
                                           : " (it lists " + listed + ", ...)"));
  }
  return *found;
}

std::string url_file_name(std::string_view url) {
  std::string_view path = url_path(url);
  auto slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::string sibling_url(std::string_view url, std::string_view sums_file) {
  auto scheme_end = url.find("://");
  std::size_t authority_start = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
  std::size_t path_end = url.find_first_of("?#", authority_start);
  std::string_view base = url.substr(0, path_end);
  auto slash = base.rfind('/');
  if (slash == std::string_view::npos || slash < authority_start) {
    return std::string(base) + "/" + std::string(sums_file);
  }
  return std::string(base.substr(0, slash + 1)) + std::string(sums_file);
}

std::string cache_file_name(std::string_view url, const std::optional<Digest>& expected) {
  // Only [A-Za-z0-9._-] reaches the name, behind a prefix: never '/', "." or "..".
  auto sanitized = [](std::string text) {
    for (char& c : text) {
      bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
      c = keep ? c : '_';
    }
    return text;
  };
  std::string name = sanitized(url_file_name(url).substr(0, k_cache_name_max));
  if (name.empty()) {
    name = "image";
  }
  if (expected) {
    return std::string(algorithm_name(expected->algorithm)) + "-" +
           sanitized(expected->hex.substr(0, 32)) + "-" + name;
  }
  return "url-" + hex_lower(sha256(url)).substr(0, 16) + "-" + name;
}

} // namespace dm::vm
