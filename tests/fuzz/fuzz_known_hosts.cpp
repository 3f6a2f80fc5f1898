// A machine's known_hosts file (untrusted store content). Parsing it is libssh2's
// (libssh2_knownhost_readfile); then ssh/known_hosts.cpp's own file logic runs on it,
// as verify_or_pin_host_key does after a connection: check the text, match a host key
// (of the same and of any type), pin it when it is not there, render every entry. No
// call may crash.
#include "ssh/known_hosts.h"
#include "tests/fuzz/fuzz_support.h"

#include <libssh2.h>
#include <sys/mman.h>
#include <unistd.h>

// Debian 12's libssh2 1.10 leaks an OpenSSL HMAC context each time it checks a key
// against a hashed ("|1|salt|hash") entry (fixed in libssh2 1.11): one small leak per
// connection in dmachine, not ours, so leaks from inside libcrypto are not reported.
extern "C" const char* __lsan_default_suppressions() {
  return "leak:libcrypto.so\n";
}

namespace {

// An ed25519 host key blob as a server sends it.
const std::string& host_key() {
  static const std::string key = [] {
    const std::string type = "ssh-ed25519";
    std::string blob{'\0', '\0', '\0', static_cast<char>(type.size())};
    blob += type;
    blob += std::string{'\0', '\0', '\0', '\x20'};
    blob.append(32, '\x5a');
    return blob;
  }();
  return key;
}

// The file libssh2 reads: an in-memory file, so nothing is left behind.
int memory_file() {
  static const int fd = memfd_create("known_hosts", MFD_CLOEXEC);
  dm::fuzz::check(fd >= 0, "memfd_create");
  return fd;
}

void check_and_pin(LIBSSH2_KNOWNHOSTS* hosts, const std::string& host, int port) {
  auto match = dm::match_known_host(hosts, host, port, host_key(), LIBSSH2_HOSTKEY_TYPE_ED25519);
  if (match && *match == dm::KnownHostMatch::not_found) {
    (void)dm::add_known_host(hosts, host, port, host_key(), LIBSSH2_HOSTKEY_TYPE_ED25519);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static LIBSSH2_SESSION* session = [] {
    dm::fuzz::check(libssh2_init(0) == 0, "libssh2_init");
    return libssh2_session_init();
  }();
  const int fd = memory_file();
  static const std::string path = "/proc/self/fd/" + std::to_string(fd);
  dm::fuzz::check(ftruncate(fd, 0) == 0 && pwrite(fd, data, size, 0) == static_cast<ssize_t>(size),
                  "write the known_hosts file");

  if (!dm::check_known_hosts_text(dm::fuzz::as_text(data, size))) {
    return 0; // refused before libssh2 reads it, as load_known_hosts does
  }
  LIBSSH2_KNOWNHOSTS* hosts = libssh2_knownhost_init(session);
  dm::fuzz::check(hosts != nullptr, "libssh2_knownhost_init");
  if (libssh2_knownhost_readfile(hosts, path.c_str(), LIBSSH2_KNOWNHOST_FILE_OPENSSH) >= 0) {
    check_and_pin(hosts, "10.0.0.2", 22);
    check_and_pin(hosts, "10.0.0.3", 2222);
    auto text = dm::render_known_hosts(hosts);
    dm::fuzz::check(text.has_value() || !text.error().message.empty(), "a render error says why");
  }
  libssh2_knownhost_free(hosts);
  return 0;
}
