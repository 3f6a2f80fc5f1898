#pragma once
// Google OAuth 2.0 for a service account (RFC 7523 JWT bearer): the key file, an
// RS256-signed assertion, and the token request body. The private key stays in
// memory; nothing here writes a file.
#include "core/result.h"

#include <string>
#include <string_view>

namespace dm::google {

// base64url without padding (RFC 7515 section 2), and back (padding optional).
std::string base64url(std::string_view bytes);
Result<std::string> base64url_decode(std::string_view text);

// RSASSA-PKCS1-v1_5 with SHA-256 of input, with a PEM private key (PKCS#8 or PKCS#1).
Result<std::string> rs256_sign(std::string_view pem_private_key, std::string_view input);

struct ServiceAccountKey {
  std::string project_id;
  std::string client_email;
  std::string private_key_id;
  std::string private_key; // PEM
  std::string token_uri;   // https, or http to a loopback address (an emulator)
};

// https://..., or http:// to 127.0.0.1 or localhost (an emulator).
bool secure_or_loopback_url(const std::string& url);

// A service-account key file (untrusted): "type" must be "service_account" and every
// field above a non-empty string; token_uri https (http only to 127.0.0.1/localhost).
Result<ServiceAccountKey> parse_service_account_key(std::string_view json_text);

// header.claims.signature with iss = client_email, scope (several joined by a space),
// aud = token_uri, iat = now, exp = now + 3600 (Google's maximum).
Result<std::string> jwt_bearer_assertion(const ServiceAccountKey& key, const std::string& scope,
                                         long long now_unix_seconds);

// The form body of the token request (POST token_uri).
std::string token_request_body(const std::string& assertion);

} // namespace dm::google
