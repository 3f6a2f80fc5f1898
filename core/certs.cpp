#include "core/certs.h"

#include "core/machine_store.h"
#include "core/openssl_ptr.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <array>
#include <ctime>
#include <memory>
#include <sys/stat.h>

namespace dm {

namespace fs = std::filesystem;

namespace {

constexpr long k_validity_seconds = 3L * 365 * 24 * 3600;
constexpr long k_backdate_seconds = 3600;
constexpr int k_rsa_bits = 2048;
constexpr int k_key_mode = 0600;
constexpr int k_cert_mode = 0644;

// The OpenSSL error queue as text (emptied), or fallback when it is empty.
std::string openssl_error(const std::string& fallback) {
  std::string text;
  unsigned long code = 0;
  while ((code = ERR_get_error()) != 0) {
    std::array<char, 256> buffer{};
    ERR_error_string_n(code, buffer.data(), buffer.size());
    if (!text.empty()) {
      text += "; ";
    }
    text += buffer.data();
  }
  return text.empty() ? fallback : text;
}

Result<X509Ptr> parse_cert(const std::string& pem, const std::string& what) {
  ERR_clear_error();
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) {
    return fail("read " + what + ": out of memory");
  }
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    return fail("read " + what + ": not a PEM certificate (" + openssl_error("no certificate") +
                ")");
  }
  return cert;
}

Result<PkeyPtr> parse_key(const std::string& pem, const std::string& what) {
  ERR_clear_error();
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) {
    return fail("read " + what + ": out of memory");
  }
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    return fail("read " + what + ": not a PEM private key (" + openssl_error("no key") + ")");
  }
  return key;
}

Result<std::string> bio_text(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  if (size < 0 || data == nullptr) {
    return fail("encode PEM: " + openssl_error("empty output"));
  }
  return std::string(data, static_cast<size_t>(size));
}

Result<std::string> cert_to_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) {
    return fail("encode certificate: " + openssl_error("PEM_write_bio_X509 failed"));
  }
  return bio_text(bio.get());
}

Result<std::string> key_to_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return fail("encode private key: " + openssl_error("PEM_write_bio_PrivateKey failed"));
  }
  return bio_text(bio.get());
}

Result<PkeyPtr> generate_rsa_key() {
  ERR_clear_error();
  PkeyPtr key(EVP_RSA_gen(k_rsa_bits));
  if (!key) {
    return fail("generate RSA key: " + openssl_error("EVP_RSA_gen failed"));
  }
  return key;
}

// Server keys are made for every machine and every regenerate-certs: P-256 is
// generated in microseconds where RSA-2048 takes 0.1-0.5 s of CPU, and dockerd,
// the docker client and libcurl all accept it.
Result<PkeyPtr> generate_ec_key() {
  ERR_clear_error();
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) {
    return fail("generate EC key: " + openssl_error("EVP_EC_gen failed"));
  }
  return key;
}

Result<void> set_random_serial(X509* cert) {
  BnPtr serial(BN_new());
  if (!serial || BN_rand(serial.get(), 128, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1) {
    return fail("generate serial number: " + openssl_error("BN_rand failed"));
  }
  if (BN_is_zero(serial.get())) {
    BN_one(serial.get());
  }
  if (BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert)) == nullptr) {
    return fail("set serial number: " + openssl_error("BN_to_ASN1_INTEGER failed"));
  }
  return {};
}

Result<void> add_name_entry(X509_NAME* name, const char* field, const std::string& value) {
  if (value.empty()) {
    return {};
  }
  if (X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1,
                                 0) != 1) {
    return fail(std::string("set subject ") + field + "=" + value + ": " +
                openssl_error("X509_NAME_add_entry_by_txt failed"));
  }
  return {};
}

Result<void> add_ext(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value);
  if (ext == nullptr) {
    return fail(std::string("build extension ") + OBJ_nid2sn(nid) + "=" + value + ": " +
                openssl_error("X509V3_EXT_conf_nid failed"));
  }
  int added = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (added != 1) {
    return fail(std::string("add extension ") + OBJ_nid2sn(nid) + ": " +
                openssl_error("X509_add_ext failed"));
  }
  return {};
}

enum class CertRole { ca, client, server };

struct CertSpec {
  CertRole role = CertRole::client;
  std::string common_name;
  std::string organization;
  std::vector<std::string> sans;
};

Result<NamesPtr> build_sans(const std::vector<std::string>& sans) {
  NamesPtr names(sk_GENERAL_NAME_new_null());
  if (!names) {
    return fail("build subjectAltName: out of memory");
  }
  for (const auto& san : sans) {
    if (san.empty()) {
      return fail(ErrorKind::usage, "build subjectAltName: empty name in the SAN list");
    }
    std::array<unsigned char, 16> addr{};
    int addr_len = 0;
    if (inet_pton(AF_INET, san.c_str(), addr.data()) == 1) {
      addr_len = 4;
    } else if (inet_pton(AF_INET6, san.c_str(), addr.data()) == 1) {
      addr_len = 16;
    }
    GENERAL_NAME* name = GENERAL_NAME_new();
    if (name == nullptr) {
      return fail("build subjectAltName: out of memory");
    }
    bool ok = false;
    if (addr_len > 0) {
      ASN1_OCTET_STRING* ip = ASN1_OCTET_STRING_new();
      if (ip != nullptr && ASN1_OCTET_STRING_set(ip, addr.data(), addr_len) == 1) {
        GENERAL_NAME_set0_value(name, GEN_IPADD, ip);
        ok = true;
      } else {
        ASN1_OCTET_STRING_free(ip);
      }
    } else {
      ASN1_IA5STRING* dns = ASN1_IA5STRING_new();
      if (dns != nullptr && ASN1_STRING_set(dns, san.data(), static_cast<int>(san.size())) == 1) {
        GENERAL_NAME_set0_value(name, GEN_DNS, dns);
        ok = true;
      } else {
        ASN1_IA5STRING_free(dns);
      }
    }
    if (!ok || sk_GENERAL_NAME_push(names.get(), name) == 0) {
      GENERAL_NAME_free(name);
      return fail("build subjectAltName " + san + ": " + openssl_error("out of memory"));
    }
  }
  return names;
}

// Builds a certificate for key, signed by issuer_key (issuer_cert null: self-signed).
Result<X509Ptr> build_cert(const CertSpec& spec, EVP_PKEY* key, X509* issuer_cert,
                           EVP_PKEY* issuer_key) {
  ERR_clear_error();
  X509Ptr cert(X509_new());
  if (!cert) {
    return fail("create certificate: out of memory");
  }
  if (X509_set_version(cert.get(), 2) != 1) {
    return fail("set certificate version: " + openssl_error("X509_set_version failed"));
  }
  DM_TRY(set_random_serial(cert.get()));
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -k_backdate_seconds) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), k_validity_seconds) == nullptr) {
    return fail("set certificate validity: " + openssl_error("X509_gmtime_adj failed"));
  }
  X509_NAME* subject = X509_get_subject_name(cert.get());
  DM_TRY(add_name_entry(subject, "O", spec.organization));
  DM_TRY(add_name_entry(subject, "CN", spec.common_name));
  X509* issuer = issuer_cert == nullptr ? cert.get() : issuer_cert;
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer)) != 1) {
    return fail("set issuer: " + openssl_error("X509_set_issuer_name failed"));
  }
  if (X509_set_pubkey(cert.get(), key) != 1) {
    return fail("set public key: " + openssl_error("X509_set_pubkey failed"));
  }

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert.get(), nullptr, nullptr, 0);
  DM_TRY(add_ext(cert.get(), &ctx, NID_subject_key_identifier, "hash"));
  DM_TRY(add_ext(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always"));
  switch (spec.role) {
  case CertRole::ca:
    DM_TRY(add_ext(cert.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE"));
    DM_TRY(add_ext(cert.get(), &ctx, NID_key_usage,
                   "critical,keyCertSign,cRLSign,digitalSignature"));
    break;
  case CertRole::client:
    DM_TRY(add_ext(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE"));
    DM_TRY(add_ext(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature,keyEncipherment"));
    DM_TRY(add_ext(cert.get(), &ctx, NID_ext_key_usage, "clientAuth"));
    break;
  case CertRole::server:
    DM_TRY(add_ext(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE"));
    // An ECDSA key signs the handshake; it never enciphers keys.
    DM_TRY(add_ext(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature"));
    DM_TRY(add_ext(cert.get(), &ctx, NID_ext_key_usage, "serverAuth"));
    break;
  }
  if (!spec.sans.empty()) {
    auto names = build_sans(spec.sans);
    if (!names) {
      return fail(names.error());
    }
    if (X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, names->get(), 0, 0) != 1) {
      return fail("add subjectAltName: " + openssl_error("X509_add1_ext_i2d failed"));
    }
  }
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0) {
    return fail("sign certificate: " + openssl_error("X509_sign failed"));
  }
  return cert;
}

Result<std::string> read_pem_file(const fs::path& path) {
  auto data = read_file(path);
  if (!data) {
    return fail(data.error().with_context("read " + path.string()));
  }
  return data;
}

struct LoadedCa {
  X509Ptr cert;
  PkeyPtr key;
};

std::string regenerate_advice() {
  return "; fix or remove it, or run `dmachine regenerate-certs --client-certs`";
}

Result<LoadedCa> load_ca(const fs::path& cert_path, const fs::path& key_path) {
  auto cert_pem = read_pem_file(cert_path);
  if (!cert_pem) {
    return fail(cert_pem.error());
  }
  auto key_pem = read_pem_file(key_path);
  if (!key_pem) {
    return fail(key_pem.error());
  }
  auto cert = parse_cert(*cert_pem, cert_path.string());
  if (!cert) {
    return fail(cert.error().message + regenerate_advice());
  }
  auto key = parse_key(*key_pem, key_path.string());
  if (!key) {
    return fail(key.error().message + regenerate_advice());
  }
  if (X509_check_private_key(cert->get(), key->get()) != 1) {
    ERR_clear_error();
    return fail("CA key " + key_path.string() + " does not match CA certificate " +
                cert_path.string() + regenerate_advice());
  }
  return LoadedCa{std::move(*cert), std::move(*key)};
}

Result<void> write_pair(const fs::path& cert_path, const std::string& cert_pem,
                        const fs::path& key_path, const std::string& key_pem) {
  DM_TRY(write_file_atomic(key_path, key_pem, k_key_mode));
  DM_TRY(write_file_atomic(cert_path, cert_pem, k_cert_mode));
  return {};
}

Result<void> check_cert_file(const fs::path& path) {
  auto pem = read_pem_file(path);
  if (!pem) {
    return fail(pem.error());
  }
  auto cert = parse_cert(*pem, path.string());
  if (!cert) {
    return fail(cert.error().message + regenerate_advice());
  }
  return {};
}

Result<void> check_key_file(const fs::path& path) {
  auto pem = read_pem_file(path);
  if (!pem) {
    return fail(pem.error());
  }
  auto key = parse_key(*pem, path.string());
  if (!key) {
    return fail(key.error().message + regenerate_advice());
  }
  return {};
}

} // namespace

Result<void> ensure_ca_and_client(const fs::path& certs_dir, const std::string& organization,
                                  RegenerateClient regenerate) {
  std::error_code ec;
  fs::create_directories(certs_dir, ec);
  if (ec) {
    return fail("create certificate directory " + certs_dir.string() + ": " + ec.message());
  }
  if (::chmod(certs_dir.c_str(), 0700) != 0) {
    return fail("chmod 0700 " + certs_dir.string() + ": " +
                std::error_code(errno, std::generic_category()).message());
  }
  const fs::path ca_cert_path = certs_dir / "ca.pem";
  const fs::path ca_key_path = certs_dir / "ca-key.pem";
  const fs::path client_cert_path = certs_dir / "cert.pem";
  const fs::path client_key_path = certs_dir / "key.pem";
  auto exists = [](const fs::path& p) {
    std::error_code err;
    return fs::exists(p, err);
  };

  const bool make_ca = regenerate == RegenerateClient::yes || !exists(ca_cert_path) ||
                       !exists(ca_key_path);
  const bool make_client =
      make_ca || !exists(client_cert_path) || !exists(client_key_path);

  LoadedCa ca;
  if (make_ca) {
    auto key = generate_rsa_key();
    DM_TRY_CTX(key, "create CA");
    CertSpec spec{CertRole::ca, organization + " CA", organization, {}};
    auto cert = build_cert(spec, key->get(), nullptr, key->get());
    DM_TRY_CTX(cert, "create CA");
    auto cert_pem = cert_to_pem(cert->get());
    DM_TRY_CTX(cert_pem, "create CA");
    auto key_pem = key_to_pem(key->get());
    DM_TRY_CTX(key_pem, "create CA");
    DM_TRY_CTX(write_pair(ca_cert_path, *cert_pem, ca_key_path, *key_pem), "create CA");
    ca = LoadedCa{std::move(*cert), std::move(*key)};
  } else if (make_client) {
    auto loaded = load_ca(ca_cert_path, ca_key_path);
    DM_TRY_CTX(loaded, "create client certificate");
    ca = std::move(*loaded);
  } else {
    DM_TRY_CTX(check_cert_file(ca_cert_path), "check certificates");
    DM_TRY_CTX(check_key_file(ca_key_path), "check certificates");
    DM_TRY_CTX(check_cert_file(client_cert_path), "check certificates");
    DM_TRY_CTX(check_key_file(client_key_path), "check certificates");
    return {};
  }

  auto key = generate_rsa_key();
  DM_TRY_CTX(key, "create client certificate");
  CertSpec spec{CertRole::client, organization, organization, {}};
  auto cert = build_cert(spec, key->get(), ca.cert.get(), ca.key.get());
  DM_TRY_CTX(cert, "create client certificate");
  auto cert_pem = cert_to_pem(cert->get());
  DM_TRY_CTX(cert_pem, "create client certificate");
  auto key_pem = key_to_pem(key->get());
  DM_TRY_CTX(key_pem, "create client certificate");
  DM_TRY_CTX(write_pair(client_cert_path, *cert_pem, client_key_path, *key_pem),
             "create client certificate");
  return {};
}

Result<ServerCert> make_server_cert(const fs::path& ca_cert, const fs::path& ca_key,
                                    const std::vector<std::string>& sans,
                                    const std::string& organization) {
  auto ca = load_ca(ca_cert, ca_key);
  DM_TRY_CTX(ca, "create server certificate");
  auto key = generate_ec_key();
  DM_TRY_CTX(key, "create server certificate");
  CertSpec spec{CertRole::server, sans.empty() ? organization : sans.front(), organization, sans};
  auto cert = build_cert(spec, key->get(), ca->cert.get(), ca->key.get());
  DM_TRY_CTX(cert, "create server certificate");
  auto cert_pem = cert_to_pem(cert->get());
  DM_TRY_CTX(cert_pem, "create server certificate");
  auto key_pem = key_to_pem(key->get());
  DM_TRY_CTX(key_pem, "create server certificate");
  return ServerCert{std::move(*cert_pem), std::move(*key_pem)};
}

Result<std::chrono::system_clock::time_point> certificate_expiry(const std::string& pem) {
  auto cert = parse_cert(pem, "certificate");
  if (!cert) {
    return fail(cert.error());
  }
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert->get()), &tm) != 1) {
    return fail("read certificate expiry: " + openssl_error("bad notAfter time"));
  }
  std::time_t t = timegm(&tm);
  return std::chrono::system_clock::from_time_t(t);
}

Result<std::vector<std::string>> certificate_sans(const std::string& pem) {
  auto cert = parse_cert(pem, "certificate");
  if (!cert) {
    return fail(cert.error());
  }
  std::vector<std::string> out;
  int crit = 0;
  NamesPtr names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert->get(), NID_subject_alt_name, &crit, nullptr)));
  if (!names) {
    return out;
  }
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    int type = 0;
    void* value = GENERAL_NAME_get0_value(name, &type);
    if (type == GEN_DNS) {
      const auto* str = static_cast<const ASN1_STRING*>(value);
      out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(str)),
                       static_cast<size_t>(ASN1_STRING_length(str)));
    } else if (type == GEN_IPADD) {
      const auto* str = static_cast<const ASN1_OCTET_STRING*>(value);
      int len = ASN1_STRING_length(str);
      std::array<char, INET6_ADDRSTRLEN> text{};
      int family = len == 4 ? AF_INET : (len == 16 ? AF_INET6 : 0);
      if (family != 0 &&
          inet_ntop(family, ASN1_STRING_get0_data(str), text.data(), text.size()) != nullptr) {
        out.emplace_back(text.data());
      }
    }
  }
  return out;
}

Result<void> verify_certificate(const std::string& cert_pem, const std::string& ca_pem) {
  auto cert = parse_cert(cert_pem, "certificate");
  if (!cert) {
    return fail(cert.error().with_context("verify certificate"));
  }
  auto ca = parse_cert(ca_pem, "CA certificate");
  if (!ca) {
    return fail(ca.error().with_context("verify certificate"));
  }
  StorePtr store(X509_STORE_new());
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!store || !ctx || X509_STORE_add_cert(store.get(), ca->get()) != 1) {
    return fail("verify certificate: " + openssl_error("cannot set up the trust store"));
  }
  if (X509_STORE_CTX_init(ctx.get(), store.get(), cert->get(), nullptr) != 1) {
    return fail("verify certificate: " + openssl_error("X509_STORE_CTX_init failed"));
  }
  if (X509_verify_cert(ctx.get()) != 1) {
    int code = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return fail(std::string("verify certificate: ") + X509_verify_cert_error_string(code));
  }
  return {};
}

} // namespace dm
