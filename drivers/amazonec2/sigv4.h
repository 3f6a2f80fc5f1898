#pragma once
// AWS Signature Version 4 (AWS4-HMAC-SHA256) for the EC2 Query API: the canonical
// request, the string to sign and the Authorization header, from a request given
// as parts (path and query decoded; the signer encodes them as SigV4 wants).
#include <string>
#include <utility>
#include <vector>

namespace dm::aws {

using Pairs = std::vector<std::pair<std::string, std::string>>;

struct SigV4Request {
  std::string method = "POST";
  std::string path = "/"; // decoded; dot segments and repeated slashes are normalised
  Pairs query;            // decoded names and values, in any order
  Pairs headers;          // as sent, in order; Host is required
  std::string body;
};

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token; // temporary credentials only
};

struct SigV4Scope {
  std::string region;
  std::string service;
  std::string amz_date; // 20150830T123600Z: the request time, UTC
};

struct SigV4Signature {
  std::string canonical_request;
  std::string string_to_sign;
  std::string authorization; // the Authorization header's value
  Pairs added_headers; // X-Amz-Date and X-Amz-Security-Token when the request lacked them
};

// Signs every header of request (plus the added ones). A session token not already
// among the headers is added as X-Amz-Security-Token and signed.
SigV4Signature sigv4_sign(const SigV4Request& request, const AwsCredentials& credentials,
                          const SigV4Scope& scope);

// The derived signing key, raw bytes (HMAC chain over date, region, service).
std::string sigv4_signing_key(const std::string& secret_access_key, const SigV4Scope& scope);

// RFC 3986 percent-encoding with upper-case hex; A-Z a-z 0-9 - . _ ~ stay as they are,
// and "/" too when keep_slash.
enum class KeepSlash { no, yes };
std::string sigv4_encode(std::string_view text, KeepSlash keep_slash);

// "20150830T123600Z" for a time point in UTC.
std::string amz_date_of(long long unix_seconds);

} // namespace dm::aws
