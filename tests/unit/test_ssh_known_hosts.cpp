// known_hosts text is checked before libssh2 reads it (libssh2 1.10 over-reads a
// decoded key of an unexpected shape when it writes the file back).
#include "ssh/known_hosts.h"

#include "core/digest.h"

#include <catch2/catch.hpp>

namespace {

std::string ssh_string(const std::string& text) {
  const auto n = static_cast<unsigned>(text.size());
  return std::string{static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                     static_cast<char>(n >> 8), static_cast<char>(n)} +
         text;
}

std::string key_line(const std::string& host, const std::string& type) {
  return host + " " + type + " " + dm::base64(ssh_string(type) + ssh_string(std::string(32, 'Z')));
}

} // namespace

TEST_CASE("known_hosts lines dmachine writes are accepted", "[known_hosts]") {
  CHECK(dm::check_known_hosts_text(""));
  CHECK(dm::check_known_hosts_text(key_line("10.213.0.2", "ssh-ed25519") + "\n"));
  CHECK(dm::check_known_hosts_text("# comment\n\n" + key_line("[10.0.0.3]:2222", "ecdsa-sha2-nistp256") +
                                   " a-comment\n" +
                                   key_line("|1|F1E1KeoE/eEWhi10WpGv4OdiO6Y=|3988QV0VE8wmZL7suNrYQLITLCg=", "ssh-rsa")));
}

TEST_CASE("known_hosts lines of another shape are refused, saying which", "[known_hosts]") {
  // The fuzzer's finding: an unknown key type whose key decodes to one byte.
  auto unknown = dm::check_known_hosts_text("10.213.0.2 ssh-ad25519 AA==\n");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().message == "known_hosts line 1: not a key type dmachine pins");
  CHECK_FALSE(dm::check_known_hosts_text("10.213.0.2 ssh-ed25519 AA==\n"));
  CHECK_FALSE(dm::check_known_hosts_text("10.213.0.2 ssh-ed25519 not-base64!\n"));
  CHECK_FALSE(dm::check_known_hosts_text(key_line("h", "ssh-rsa").replace(2, 7, "ssh-ed25519")));
  CHECK_FALSE(dm::check_known_hosts_text("@cert-authority * ssh-ed25519 AAAA\n"));
  CHECK_FALSE(dm::check_known_hosts_text("host;rm ssh-ed25519 AAAA\n"));
  CHECK_FALSE(dm::check_known_hosts_text("onlyhost\n"));
  // The fuzzer's second finding: a hashed name whose salt decodes short.
  CHECK_FALSE(dm::check_known_hosts_text(key_line("|1||F1e|e", "ssh-ed25519")));
  CHECK_FALSE(dm::check_known_hosts_text(key_line("|1|c2FsdA==|aGFzaA==", "ssh-ed25519")));
  CHECK_FALSE(dm::check_known_hosts_text(key_line("a|b", "ssh-ed25519")));
  CHECK_FALSE(dm::check_known_hosts_text(key_line("|9", "ssh-ed25519"))); // was out_of_range
  auto second = dm::check_known_hosts_text(key_line("a", "ssh-ed25519") + "\nb ssh-ed25519\n");
  REQUIRE_FALSE(second);
  CHECK(second.error().message.find("line 2") != std::string::npos);
}

TEST_CASE("strict base64 decoding", "[known_hosts]") {
  CHECK(dm::base64_decode("YWI=").value() == "ab");
  CHECK(dm::base64_decode("YWJj").value() == "abc");
  CHECK(dm::base64_decode("").value().empty());
  CHECK_FALSE(dm::base64_decode("YWI"));
  CHECK_FALSE(dm::base64_decode("Y=Jj"));
  CHECK_FALSE(dm::base64_decode("Y-Jj"));
  CHECK_FALSE(dm::base64_decode("===="));
}

TEST_CASE("a machine's key is looked for under every name it was pinned with", "[known_hosts]") {
  LIBSSH2_SESSION* session = libssh2_session_init();
  REQUIRE(session != nullptr);
  LIBSSH2_KNOWNHOSTS* hosts = libssh2_knownhost_init(session);
  REQUIRE(hosts != nullptr);
  const std::string type = "ssh-ed25519";
  const std::string key = ssh_string(type) + ssh_string(std::string(32, 'A'));
  const std::string other = ssh_string(type) + ssh_string(std::string(32, 'B'));

  CHECK(dm::find_pinned_key(hosts, key) == dm::PinnedKey::none);
  REQUIRE(dm::add_known_host(hosts, "10.213.241.5", 22, key, LIBSSH2_HOSTKEY_TYPE_ED25519));
  // At a new address (an EC2 start), the same key is the machine; another key is not.
  CHECK(dm::match_known_host(hosts, "10.213.241.9", 22, key, LIBSSH2_HOSTKEY_TYPE_ED25519)
            .value() == dm::KnownHostMatch::not_found);
  CHECK(dm::find_pinned_key(hosts, key) == dm::PinnedKey::this_key);
  CHECK(dm::find_pinned_key(hosts, other) == dm::PinnedKey::other_keys);

  libssh2_knownhost_free(hosts);
  libssh2_session_free(session);
}
