#include "ssh/keygen.h"

#include "core/openssl_ptr.h"

#include "core/machine_store.h"

#include <fmt/format.h>
#include <memory>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

namespace dm {

namespace {


void put_u32(std::string& out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((value >> shift) & 0xff));
  }
}

void put_string(std::string& out, const std::string& value) {
  put_u32(out, static_cast<uint32_t>(value.size()));
  out += value;
}

// SSH mpint: big-endian, with a leading zero byte when the top bit is set.
void put_mpint(std::string& out, const BIGNUM* number) {
  std::string bytes(static_cast<size_t>(BN_num_bytes(number)), '\0');
  BN_bn2bin(number, reinterpret_cast<unsigned char*>(bytes.data()));
  if (!bytes.empty() && (static_cast<unsigned char>(bytes[0]) & 0x80) != 0) {
    bytes.insert(bytes.begin(), '\0');
  }
  put_string(out, bytes);
}

std::string base64(const std::string& data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                               reinterpret_cast<const unsigned char*>(data.data()),
                               static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(length));
  return out;
}

Result<std::string> openssh_public_key(EVP_PKEY* key, const std::string& comment) {
  std::string blob;
  if (EVP_PKEY_is_a(key, "EC")) {
    // RFC 5656: string "ecdsa-sha2-nistp256", string "nistp256", string Q (uncompressed point).
    unsigned char point[133];
    size_t point_length = 0;
    if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point,
                                        &point_length) != 1) {
      return fail("read the ECDSA public key");
    }
    put_string(blob, "ecdsa-sha2-nistp256");
    put_string(blob, "nistp256");
    put_string(blob, std::string(reinterpret_cast<char*>(point), point_length));
    return fmt::format("ecdsa-sha2-nistp256 {} {}\n", base64(blob), comment);
  }
  BIGNUM* raw_n = nullptr;
  BIGNUM* raw_e = nullptr;
  if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &raw_n) != 1 ||
      EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &raw_e) != 1) {
    BN_free(raw_n);
    return fail("read the RSA public key");
  }
  BnPtr n(raw_n);
  BnPtr e(raw_e);
  put_string(blob, "ssh-rsa");
  put_mpint(blob, e.get());
  put_mpint(blob, n.get());
  return fmt::format("ssh-rsa {} {}\n", base64(blob), comment);
}

Result<std::string> private_key_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  // Traditional "EC PRIVATE KEY" PEM: read by libssh2 and by OpenSSH alike.
  if (!bio || PEM_write_bio_PrivateKey_traditional(bio.get(), key, nullptr, nullptr, 0, nullptr,
                                                   nullptr) != 1) {
    return fail("encode the private key");
  }
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(length));
}

} // namespace

Result<std::string> openssh_public_key_from_private(const std::string& private_pem,
                                                    const std::string& comment) {
  BioPtr bio(BIO_new_mem_buf(private_pem.data(), static_cast<int>(private_pem.size())));
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    return fail("not a PEM private key");
  }
  return openssh_public_key(key.get(), comment);
}

Result<void> generate_key_pair(const std::filesystem::path& path, const std::string& comment) {
  // ECDSA P-256: libssh2 1.10 (Debian 12) signs RSA user keys only with SHA-1
  // ("ssh-rsa"), which OpenSSH 8.8 and later refuse by default.
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) {
    return fail("generate an ECDSA key");
  }
  auto private_pem = private_key_pem(key.get());
  DM_TRY(private_pem);
  auto public_line = openssh_public_key(key.get(), comment);
  DM_TRY(public_line);
  DM_TRY_CTX(write_file_atomic(path, *private_pem, 0600), "write the SSH key");
  DM_TRY_CTX(write_file_atomic(path.string() + ".pub", *public_line, 0644), "write the SSH key");
  return {};
}

} // namespace dm
