#include "ssh/known_hosts.h"

#include "core/digest.h"
#include "core/machine_store.h"

#include <fmt/format.h>
#include <cctype>
#include <memory>
#include <set>
#include <vector>

namespace dm {

namespace {

struct KnownHostsDeleter {
  void operator()(LIBSSH2_KNOWNHOSTS* hosts) const { libssh2_knownhost_free(hosts); }
};
using KnownHosts = std::unique_ptr<LIBSSH2_KNOWNHOSTS, KnownHostsDeleter>;

int key_type_bits(int hostkey_type) {
  switch (hostkey_type) {
  case LIBSSH2_HOSTKEY_TYPE_RSA:
    return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
  case LIBSSH2_HOSTKEY_TYPE_DSS:
    return LIBSSH2_KNOWNHOST_KEY_SSHDSS;
  case LIBSSH2_HOSTKEY_TYPE_ECDSA_256:
    return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
  case LIBSSH2_HOSTKEY_TYPE_ECDSA_384:
    return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
  case LIBSSH2_HOSTKEY_TYPE_ECDSA_521:
    return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
  case LIBSSH2_HOSTKEY_TYPE_ED25519:
    return LIBSSH2_KNOWNHOST_KEY_ED25519;
  default:
    return LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
  }
}

Result<KnownHosts> load_known_hosts(LIBSSH2_SESSION* session, const std::filesystem::path& path) {
  KnownHosts hosts(libssh2_knownhost_init(session));
  if (!hosts) {
    return fail(ErrorKind::ssh, "initialise the known_hosts store");
  }
  std::error_code error;
  if (std::filesystem::exists(path, error)) {
    auto text = read_file(path);
    DM_TRY(text);
    if (!check_known_hosts_text(*text) ||
        libssh2_knownhost_readfile(hosts.get(), path.c_str(), LIBSSH2_KNOWNHOST_FILE_OPENSSH) < 0) {
      return fail(ErrorKind::ssh,
                  fmt::format("read {}: not a valid known_hosts file; remove it to pin the "
                              "machine's host key again",
                              path.string()));
    }
  }
  return hosts;
}


} // namespace

Result<std::string> render_known_hosts(LIBSSH2_KNOWNHOSTS* hosts) {
  std::string text;
  libssh2_knownhost* previous = nullptr;
  libssh2_knownhost* entry = nullptr;
  while (libssh2_knownhost_get(hosts, &entry, previous) == 0) {
    char line[16384];
    size_t length = 0;
    if (libssh2_knownhost_writeline(hosts, entry, line, sizeof line, &length,
                                    LIBSSH2_KNOWNHOST_FILE_OPENSSH) != 0) {
      return fail(ErrorKind::ssh, "render a known_hosts line");
    }
    text.append(line, length);
    previous = entry;
  }
  return text;
}

Result<KnownHostMatch> match_known_host(LIBSSH2_KNOWNHOSTS* hosts, const std::string& host,
                                        int port, std::string_view key, int key_type) {
  const int plain = LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW;
  libssh2_knownhost* found = nullptr;
  int check = libssh2_knownhost_checkp(hosts, host.c_str(), port, key.data(), key.size(),
                                       plain | key_type_bits(key_type), &found);
  if (check == LIBSSH2_KNOWNHOST_CHECK_NOTFOUND) {
    // libssh2 compares keys of the same type only: a host that now offers a
    // key of another type than the pinned one has changed too.
    check = libssh2_knownhost_checkp(hosts, host.c_str(), port, key.data(), key.size(), plain,
                                     &found);
  }
  switch (check) {
  case LIBSSH2_KNOWNHOST_CHECK_MATCH:
    return KnownHostMatch::matched;
  case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
    return KnownHostMatch::not_found;
  case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
    return KnownHostMatch::changed;
  default:
    return fail(ErrorKind::ssh, fmt::format("check the host key of {}", host));
  }
}

PinnedKey find_pinned_key(LIBSSH2_KNOWNHOSTS* hosts, std::string_view key) {
  const std::string wanted = base64(key);
  PinnedKey found = PinnedKey::none;
  libssh2_knownhost* previous = nullptr;
  libssh2_knownhost* entry = nullptr;
  while (libssh2_knownhost_get(hosts, &entry, previous) == 0) {
    if (entry->key != nullptr && wanted == entry->key) {
      return PinnedKey::this_key;
    }
    found = PinnedKey::other_keys;
    previous = entry;
  }
  return found;
}

Result<void> add_known_host(LIBSSH2_KNOWNHOSTS* hosts, const std::string& host, int port,
                            std::string_view key, int key_type) {
  const std::string name = known_hosts_name(host, port);
  const int type_mask =
      LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | key_type_bits(key_type);
  if (libssh2_knownhost_addc(hosts, name.c_str(), nullptr, key.data(), key.size(), nullptr, 0,
                             type_mask, nullptr) != 0) {
    return fail(ErrorKind::ssh, fmt::format("pin the host key of {}", name));
  }
  return {};
}

Result<void> check_known_hosts_text(std::string_view text) {
  static const std::set<std::string, std::less<>> k_key_types = {
      "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
      "ssh-rsa"};
  size_t number = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    std::string_view line = text.substr(start, end == std::string_view::npos ? end : end - start);
    start = end == std::string_view::npos ? text.size() : end + 1;
    ++number;
    if (line.empty() || line.front() == '#') {
      continue;
    }
    auto bad = [&](const char* why) {
      return fail(ErrorKind::ssh, fmt::format("known_hosts line {}: {}", number, why));
    };
    std::vector<std::string_view> fields;
    for (size_t at = 0; at < line.size();) {
      size_t space = line.find(' ', at);
      fields.push_back(line.substr(at, space == std::string_view::npos ? space : space - at));
      at = space == std::string_view::npos ? line.size() : space + 1;
    }
    if (fields.size() < 3 || fields.size() > 4 || fields[0].empty()) {
      return bad("expected HOSTS KEYTYPE KEY");
    }
    if (fields[0].front() == '|') {
      // A hashed name: |1|base64(20-byte salt)|base64(20-byte HMAC-SHA1), as OpenSSH writes it.
      if (fields[0].rfind("|1|", 0) != 0) {
        return bad("a hashed host name is |1|SALT|HASH");
      }
      const std::string_view hashed = fields[0].substr(3);
      const auto bar = hashed.find('|');
      if (bar == std::string_view::npos) {
        return bad("a hashed host name is |1|SALT|HASH");
      }
      auto salt = base64_decode(hashed.substr(0, bar));
      auto hash = base64_decode(hashed.substr(bar + 1));
      if (!salt || salt->size() != 20 || !hash || hash->size() != 20) {
        return bad("a hashed host name is |1|SALT|HASH");
      }
    } else {
      for (unsigned char c : fields[0]) {
        if (std::isalnum(c) == 0 &&
            std::string_view(".:[]-,_").find(static_cast<char>(c)) == std::string_view::npos) {
          return bad("unexpected character in the host names");
        }
      }
    }
    if (k_key_types.count(fields[1]) == 0) {
      return bad("not a key type dmachine pins");
    }
    auto blob = base64_decode(fields[2]);
    // The blob starts with its own type as an SSH string: uint32 length, then the name.
    if (!blob || blob->size() < 4 + fields[1].size() ||
        static_cast<size_t>((static_cast<unsigned char>((*blob)[0]) << 24) |
                            (static_cast<unsigned char>((*blob)[1]) << 16) |
                            (static_cast<unsigned char>((*blob)[2]) << 8) |
                            static_cast<unsigned char>((*blob)[3])) != fields[1].size() ||
        blob->compare(4, fields[1].size(), fields[1]) != 0) {
      return bad("the key does not match its type");
    }
  }
  return {};
}

std::string known_hosts_name(const std::string& host, int port) {
  return port == 22 ? host : fmt::format("[{}]:{}", host, port);
}

Result<HostKeyCheck> verify_or_pin_host_key(LIBSSH2_SESSION* session, const std::string& host,
                                            int port, const std::filesystem::path& known_hosts) {
  size_t key_length = 0;
  int key_type = 0;
  const char* key = libssh2_session_hostkey(session, &key_length, &key_type);
  if (key == nullptr) {
    return fail(ErrorKind::ssh, fmt::format("{}:{} sent no host key", host, port));
  }
  // The lock makes "not found, so pin" safe when several dmachine processes
  // meet a new machine at once.
  auto lock = lock_file(known_hosts.string() + ".lock", 30);
  DM_TRY(lock);
  auto hosts = load_known_hosts(session, known_hosts);
  DM_TRY(hosts);
  const std::string_view offered(key, key_length);
  auto match = match_known_host(hosts->get(), host, port, offered, key_type);
  DM_TRY(match);
  if (*match == KnownHostMatch::matched) {
    return HostKeyCheck::matched;
  }
  if (*match == KnownHostMatch::changed) {
    return fail(ErrorKind::host_key_changed,
                fmt::format("the SSH host key of {} has changed since it was pinned in {}; this "
                            "may be an attack (or the host was reinstalled). Refusing to connect. "
                            "If the change is expected, delete that file to pin the new key",
                            known_hosts_name(host, port), known_hosts.string()));
  }
  // A machine is one host: at a new address (an EC2 or GCE start, a changed record) it must
  // still show a key pinned for it before, never a new one.
  if (find_pinned_key(hosts->get(), offered) == PinnedKey::other_keys) {
    return fail(ErrorKind::host_key_changed,
                fmt::format("{} shows an SSH host key that is not the one pinned for this "
                            "machine in {} (at its earlier address); this may be an attack. "
                            "Refusing to connect. If the machine was reinstalled, delete that "
                            "file to pin the new key",
                            known_hosts_name(host, port), known_hosts.string()));
  }
  DM_TRY(add_known_host(hosts->get(), host, port, offered, key_type));
  auto text = render_known_hosts(hosts->get());
  DM_TRY(text);
  DM_TRY_CTX(write_file_atomic(known_hosts, *text, 0600), "pin the host key");
  return HostKeyCheck::pinned_now;
}

} // namespace dm
