#include "drivers/google/service_account.h"

#include "core/digest.h"
#include "core/openssl_ptr.h"

#include <cctype>
#include <fmt/format.h>
#include <memory>
#include <nlohmann/json.hpp>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

namespace dm::google {

namespace {

constexpr long long k_assertion_lifetime_seconds = 3600;

Result<std::string> string_field(const nlohmann::json& doc, const char* name) {
  auto it = doc.find(name);
  if (it == doc.end() || !it->is_string() || it->get<std::string>().empty()) {
    return fail(ErrorKind::usage,
                fmt::format("the service-account key file has no \"{}\" (download a new JSON key "
                            "for the service account)",
                            name));
  }
  return it->get<std::string>();
}

} // namespace

bool secure_or_loopback_url(const std::string& url) {
  for (const char* prefix : {"https://", "http://127.0.0.1:", "http://127.0.0.1/",
                             "http://localhost:", "http://localhost/"}) {
    if (url.rfind(prefix, 0) == 0) {
      return true;
    }
  }
  return false;
}

std::string base64url(std::string_view bytes) {
  std::string out = base64(bytes);
  while (!out.empty() && out.back() == '=') {
    out.pop_back();
  }
  for (char& c : out) {
    c = c == '+' ? '-' : c == '/' ? '_' : c;
  }
  return out;
}

Result<std::string> base64url_decode(std::string_view text) {
  std::string_view body = text;
  for (int pad = 0; pad < 2 && !body.empty() && body.back() == '='; ++pad) {
    body.remove_suffix(1); // optional padding, at most two
  }
  std::string standard(body);
  for (char& c : standard) {
    if (c == '-' || c == '_') {
      c = c == '-' ? '+' : '/';
    } else if (c == '+' || c == '/' || c == '=') {
      return fail("not base64url: unexpected character");
    }
  }
  standard.append((4 - standard.size() % 4) % 4, '=');
  auto decoded = base64_decode(standard);
  if (!decoded) {
    return fail("not base64url");
  }
  return *decoded;
}

Result<std::string> rs256_sign(std::string_view pem_private_key, std::string_view input) {
  ERR_clear_error();
  BioPtr bio(
      BIO_new_mem_buf(pem_private_key.data(), static_cast<int>(pem_private_key.size())));
  PkeyPtr key(
      bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key || EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) {
    return fail(ErrorKind::usage, "the service account's private_key is not an RSA private key "
                                  "in PEM form");
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  size_t length = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &length,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    return fail("RS256: could not sign");
  }
  std::string signature(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    return fail("RS256: could not sign");
  }
  signature.resize(length);
  return signature;
}

Result<ServiceAccountKey> parse_service_account_key(std::string_view json_text) {
  auto doc = nlohmann::json::parse(json_text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return fail(ErrorKind::usage, "the service-account key file is not a JSON object");
  }
  auto type = string_field(doc, "type");
  DM_TRY(type);
  if (*type != "service_account") {
    return fail(ErrorKind::usage,
                fmt::format("the key file is of type {}, not \"service_account\"",
                            nlohmann::json(*type).dump()));
  }
  ServiceAccountKey key;
  for (auto [name, field] :
       {std::pair{"project_id", &key.project_id}, std::pair{"client_email", &key.client_email},
        std::pair{"private_key_id", &key.private_key_id},
        std::pair{"private_key", &key.private_key}, std::pair{"token_uri", &key.token_uri}}) {
    auto value = string_field(doc, name);
    DM_TRY(value);
    *field = *value;
  }
  if (!secure_or_loopback_url(key.token_uri)) {
    return fail(ErrorKind::usage,
                fmt::format("the key file's token_uri {} is not https", nlohmann::json(key.token_uri).dump()));
  }
  return key;
}

Result<std::string> jwt_bearer_assertion(const ServiceAccountKey& key, const std::string& scope,
                                         long long now_unix_seconds) {
  nlohmann::ordered_json claims;
  claims["iss"] = key.client_email;
  claims["scope"] = scope;
  claims["aud"] = key.token_uri;
  claims["exp"] = now_unix_seconds + k_assertion_lifetime_seconds;
  claims["iat"] = now_unix_seconds;
  const std::string input =
      base64url(R"({"alg":"RS256","typ":"JWT"})") + "." + base64url(claims.dump());
  auto signature = rs256_sign(key.private_key, input);
  DM_TRY(signature);
  return input + "." + base64url(*signature);
}

std::string token_request_body(const std::string& assertion) {
  // base64url and "." need no escaping in a form body.
  return "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=" +
         assertion;
}

} // namespace dm::google
