#include "drivers/amazonec2/sigv4.h"

#include "core/digest.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>

namespace dm::aws {

namespace {

constexpr const char* k_algorithm = "AWS4-HMAC-SHA256";

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Trimmed, every run of white space one space (quoted text included, as SigV4 says).
std::string canonical_value(const std::string& value) {
  std::string out;
  bool pending_space = false;
  for (char c : value) {
    if (is_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) {
      out += ' ';
      pending_space = false;
    }
    out += c;
  }
  return out;
}

// Dot segments removed and repeated slashes merged, then each segment encoded.
std::string canonical_uri(const std::string& path) {
  std::vector<std::string> segments;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    std::string segment = path.substr(start, slash == std::string::npos ? std::string::npos
                                                                        : slash - start);
    if (segment == "..") {
      if (!segments.empty()) {
        segments.pop_back();
      }
    } else if (!segment.empty() && segment != ".") {
      segments.push_back(segment);
    }
    if (slash == std::string::npos) {
      break;
    }
    start = slash + 1;
  }
  if (segments.empty()) {
    return "/";
  }
  std::string uri;
  for (const auto& segment : segments) {
    uri += "/" + sigv4_encode(segment, KeepSlash::no);
  }
  const bool trailing = !path.empty() && path.back() == '/';
  return trailing ? uri + "/" : uri;
}

std::string canonical_query(const Pairs& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  for (const auto& [name, value] : query) {
    encoded.emplace_back(sigv4_encode(name, KeepSlash::no), sigv4_encode(value, KeepSlash::no));
  }
  std::sort(encoded.begin(), encoded.end());
  std::string text;
  for (const auto& [name, value] : encoded) {
    text += (text.empty() ? "" : "&") + name + "=" + value;
  }
  return text;
}

std::string date_of(const SigV4Scope& scope) { return scope.amz_date.substr(0, 8); }

std::string credential_scope(const SigV4Scope& scope) {
  return date_of(scope) + "/" + scope.region + "/" + scope.service + "/aws4_request";
}

bool has_header(const Pairs& headers, const std::string& name) {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const auto& header) { return lower(header.first) == name; });
}

} // namespace

std::string sigv4_encode(std::string_view text, KeepSlash keep_slash) {
  static constexpr char k_hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~' ||
        (c == '/' && keep_slash == KeepSlash::yes)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += k_hex[c >> 4];
      out += k_hex[c & 0xf];
    }
  }
  return out;
}

std::string sigv4_signing_key(const std::string& secret_access_key, const SigV4Scope& scope) {
  std::string key = hmac_sha256("AWS4" + secret_access_key, date_of(scope));
  key = hmac_sha256(key, scope.region);
  key = hmac_sha256(key, scope.service);
  return hmac_sha256(key, "aws4_request");
}

SigV4Signature sigv4_sign(const SigV4Request& request, const AwsCredentials& credentials,
                          const SigV4Scope& scope) {
  SigV4Signature signature;
  if (!has_header(request.headers, "x-amz-date")) {
    signature.added_headers.emplace_back("X-Amz-Date", scope.amz_date);
  }
  if (!credentials.session_token.empty() &&
      !has_header(request.headers, "x-amz-security-token")) {
    signature.added_headers.emplace_back("X-Amz-Security-Token", credentials.session_token);
  }
  // Repeated headers are joined with "," in the order they came.
  std::map<std::string, std::string> headers;
  auto add = [&](const std::pair<std::string, std::string>& header) {
    std::string& value = headers[lower(header.first)];
    value += (value.empty() ? "" : ",") + canonical_value(header.second);
  };
  std::for_each(request.headers.begin(), request.headers.end(), add);
  std::for_each(signature.added_headers.begin(), signature.added_headers.end(), add);
  std::string canonical_headers;
  std::string signed_headers;
  for (const auto& [name, value] : headers) {
    canonical_headers += name + ":" + value + "\n";
    signed_headers += (signed_headers.empty() ? "" : ";") + name;
  }
  signature.canonical_request = request.method + "\n" + canonical_uri(request.path) + "\n" +
                                canonical_query(request.query) + "\n" + canonical_headers +
                                "\n" + signed_headers + "\n" + hex_lower(sha256(request.body));
  signature.string_to_sign = std::string(k_algorithm) + "\n" + scope.amz_date + "\n" +
                             credential_scope(scope) + "\n" +
                             hex_lower(sha256(signature.canonical_request));
  const std::string mac = hmac_sha256(sigv4_signing_key(credentials.secret_access_key, scope),
                                      signature.string_to_sign);
  signature.authorization = std::string(k_algorithm) + " Credential=" +
                            credentials.access_key_id + "/" + credential_scope(scope) +
                            ", SignedHeaders=" + signed_headers + ", Signature=" + hex_lower(mac);
  return signature;
}

std::string amz_date_of(long long unix_seconds) {
  std::time_t time = static_cast<std::time_t>(unix_seconds);
  std::tm utc{};
  gmtime_r(&time, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &utc);
  return text;
}

} // namespace dm::aws
