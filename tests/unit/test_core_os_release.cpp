#include "core/os_release.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(DM_FIXTURES_DIR) + "/os-release/" + name);
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string family_of(const std::string& name) {
  auto release = dm::parse_os_release(fixture(name));
  REQUIRE(release);
  auto family = dm::match_os_family(*release);
  REQUIRE(family);
  return (*family)->name;
}

} // namespace

TEST_CASE("parse_os_release reads quoted and unquoted values", "[os_release]") {
  auto release = dm::parse_os_release(fixture("debian-12"));
  REQUIRE(release);
  CHECK(release->id == "debian");
  CHECK(release->version_id == "12");
  CHECK(release->pretty_name == "Debian GNU/Linux 12 (bookworm)");
  CHECK(release->name == "Debian GNU/Linux");
  CHECK(release->id_like.empty());

  auto rocky = dm::parse_os_release(fixture("rocky-9"));
  REQUIRE(rocky);
  CHECK(rocky->id == "rocky");
  CHECK(rocky->version_id == "9.3");
  CHECK(rocky->id_like == std::vector<std::string>{"rhel", "centos", "fedora"});

  auto fedora = dm::parse_os_release(fixture("fedora-39"));
  REQUIRE(fedora);
  CHECK(fedora->version_id == "39");
  CHECK(fedora->pretty_name == "Fedora Linux 39 (Server Edition)");
}

TEST_CASE("parse_os_release handles comments, blank lines, escapes and single quotes",
          "[os_release]") {
  auto release = dm::parse_os_release("# a comment\n\n  ID='my os'\nNAME=\"A \\\"quoted\\\" "
                                      "name\"\nVERSION_ID=1 # trailing\nJUNK\nID_LIKE=\"a  b\"\n");
  REQUIRE(release);
  CHECK(release->id == "my os");
  CHECK(release->name == "A \"quoted\" name");
  CHECK(release->version_id == "1");
  CHECK(release->id_like == std::vector<std::string>{"a", "b"});
  auto crlf = dm::parse_os_release("ID=debian\r\nVERSION_ID=\"12\"\r\n");
  REQUIRE(crlf);
  CHECK(crlf->id == "debian");
  CHECK(crlf->version_id == "12");
}

TEST_CASE("parse_os_release fails without ID", "[os_release]") {
  auto release = dm::parse_os_release("NAME=x\n");
  REQUIRE_FALSE(release);
  CHECK(release.error().kind == dm::ErrorKind::unsupported);
}

TEST_CASE("match_os_family maps real os-release files to families", "[os_release]") {
  CHECK(family_of("debian-12") == "debian");
  CHECK(family_of("ubuntu-22.04") == "ubuntu");
  CHECK(family_of("fedora-39") == "fedora");
  CHECK(family_of("rocky-9") == "centos");
  CHECK(family_of("almalinux-9") == "centos");
  CHECK(family_of("centos-stream-9") == "centos");
  CHECK(family_of("linuxmint-21") == "ubuntu");
  CHECK(family_of("elementary-7") == "ubuntu"); // only through ID_LIKE
}

TEST_CASE("match_os_family uses ID_LIKE in its order", "[os_release]") {
  dm::OsRelease mint_like{"mintish", "1", "Mintish 1", "Mintish", {"ubuntu", "debian"}};
  auto family = dm::match_os_family(mint_like);
  REQUIRE(family);
  CHECK((*family)->name == "ubuntu");
  dm::OsRelease el{"someel", "9", "Some EL 9", "Some EL", {"rhel", "fedora"}};
  family = dm::match_os_family(el);
  REQUIRE(family);
  CHECK((*family)->name == "rhel");
}

TEST_CASE("match_os_family rejects Alpine with a helpful message", "[os_release]") {
  auto release = dm::parse_os_release(fixture("alpine-3.19"));
  REQUIRE(release);
  auto family = dm::match_os_family(*release);
  REQUIRE_FALSE(family);
  CHECK(family.error().kind == dm::ErrorKind::unsupported);
  CHECK(family.error().message ==
        "unsupported OS \"Alpine Linux v3.19\": dmachine knows Debian, Ubuntu, Fedora, CentOS "
        "Stream, Rocky and AlmaLinux; install Docker yourself (dmachine keeps an installed engine) "
        "or pass --engine-install-url");
}

TEST_CASE("family rows carry the engine install commands", "[os_release]") {
  auto row = [](const std::string& name) -> const dm::OsFamily& {
    for (const auto& family : dm::os_families()) {
      if (family.name == name) {
        return family;
      }
    }
    FAIL("no row " << name);
    return dm::os_families().front();
  };
  CHECK(row("debian").package_manager == dm::PackageManager::apt);
  CHECK(row("debian").install_command ==
        "apt-get update -q -o DPkg::Lock::Timeout=300 && DEBIAN_FRONTEND=noninteractive apt-get "
        "install -y -q -o DPkg::Lock::Timeout=300 --no-install-recommends docker.io");
  CHECK(row("ubuntu").install_command == row("debian").install_command);
  CHECK(row("debian").upgrade_command.find("--only-upgrade") != std::string::npos);
  CHECK(row("fedora").package_manager == dm::PackageManager::dnf);
  CHECK(row("fedora").install_command == "dnf install -y moby-engine");
  CHECK(row("centos").install_command ==
        "dnf -y install dnf-plugins-core && dnf config-manager --add-repo "
        "https://download.docker.com/linux/centos/docker-ce.repo && dnf install -y docker-ce "
        "docker-ce-cli containerd.io");
  CHECK(row("rhel").install_command.find("/linux/rhel/docker-ce.repo") != std::string::npos);
  for (const auto& family : dm::os_families()) {
    CHECK(family.install_command.find("podman") == std::string::npos);
  }
}
