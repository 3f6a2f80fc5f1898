#pragma once
// TLS material for the Docker engine (OpenSSL 3, in process): the store's CA and client
// certificate, server certificates signed by that CA, and small inspection helpers.
#include "core/result.h"

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace dm {

enum class RegenerateClient { no, yes };

// Creates <certs_dir>/{ca.pem,ca-key.pem,cert.pem,key.pem} when missing (all four when
// regenerate is yes; the client pair when only it is missing). Keys 0600, certs 0644, dir 0700.
// Existing files are left byte-identical. The caller holds the store lock.
Result<void> ensure_ca_and_client(const std::filesystem::path& certs_dir,
                                  const std::string& organization, RegenerateClient regenerate);

struct ServerCert {
  std::string cert_pem;
  std::string key_pem;
};

// A fresh RSA 2048 key and a 3-year serverAuth certificate signed by the CA; each SAN becomes
// IP: when it parses as an IPv4/IPv6 address, DNS: otherwise.
Result<ServerCert> make_server_cert(const std::filesystem::path& ca_cert,
                                    const std::filesystem::path& ca_key,
                                    const std::vector<std::string>& sans,
                                    const std::string& organization);

// notAfter of the first certificate in pem.
Result<std::chrono::system_clock::time_point> certificate_expiry(const std::string& pem);
// subjectAltName entries of the first certificate in pem: IP addresses in text form, DNS names.
Result<std::vector<std::string>> certificate_sans(const std::string& pem);
// Checks cert_pem chains to ca_pem (and only that CA) and is currently valid.
Result<void> verify_certificate(const std::string& cert_pem, const std::string& ca_pem);

} // namespace dm
