#include "core/progress.h"
#include "drivers/vm/image_progress.h"
#include "drivers/vm/image_source.h"

#include <catch2/catch.hpp>

#include <regex>
#include <sstream>
#include <vector>

using namespace dm;
using namespace dm::vm;

namespace {

const std::string k_hex64 = std::string(64, 'a');
const std::string k_hex128 = std::string(128, 'b');

bool mentions(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("digest specs: sha256:/sha512: with the right number of hex digits", "[vm_image]") {
  auto lower = parse_digest("SHA256:" + std::string(64, 'A'));
  REQUIRE(lower);
  CHECK(lower->algorithm == DigestAlgorithm::sha256);
  CHECK(lower->hex == std::string(64, 'a'));
  CHECK(lower->to_string() == "sha256:" + std::string(64, 'a'));
  auto long_one = parse_digest("sha512:" + k_hex128);
  REQUIRE(long_one);
  CHECK(long_one->algorithm == DigestAlgorithm::sha512);

  auto short_one = parse_digest("sha256:abc");
  REQUIRE_FALSE(short_one);
  CHECK(mentions(short_one.error().message, "has 3 hex digits, expected 64"));
  auto swapped = parse_digest("sha512:" + k_hex64);
  REQUIRE_FALSE(swapped);
  CHECK(mentions(swapped.error().message, "expected 128"));
  auto not_hex = parse_digest("sha256:" + std::string(63, 'a') + "g");
  REQUIRE_FALSE(not_hex);
  CHECK(mentions(not_hex.error().message, "not a hex digit"));
  auto bare = parse_digest(k_hex64);
  REQUIRE_FALSE(bare);
  CHECK(mentions(bare.error().message, "write sha256:<64 hex digits>"));
  auto md5 = parse_digest("md5:" + std::string(32, 'a'));
  REQUIRE_FALSE(md5);
  CHECK(md5.error().kind == ErrorKind::usage);
  // A control character in the value is shown escaped, never raw.
  auto hostile = parse_digest("sha256:\x1b[31m");
  REQUIRE_FALSE(hostile);
  CHECK_FALSE(mentions(hostile.error().message, "\x1b"));
  CHECK(mentions(hostile.error().message, "\\x1b"));
}

TEST_CASE("image sources: URLs, file URLs and paths, with their checksums", "[vm_image]") {
  auto https = parse_image_source("https://example.org/img/disk.qcow2", "", "--qemu-image");
  REQUIRE(https);
  CHECK(https->kind == ImageSource::Kind::url);
  CHECK(https->checksum.kind == ChecksumSpec::Kind::none);
  CHECK(https->file_name() == "disk.qcow2");

  auto with_digest =
      parse_image_source("http://127.0.0.1:8000/disk.img", "sha256:" + k_hex64, "--qemu-image");
  REQUIRE(with_digest);
  CHECK(with_digest->checksum.kind == ChecksumSpec::Kind::digest);

  auto with_sums = parse_image_source("http://127.0.0.1:8000/disk.img",
                                      "http://127.0.0.1:8000/SHA256SUMS", "--qemu-image");
  REQUIRE(with_sums);
  CHECK(with_sums->checksum.kind == ChecksumSpec::Kind::sums);
  CHECK(with_sums->checksum.sums_url == "http://127.0.0.1:8000/SHA256SUMS");

  auto file_url = parse_image_source("file:///var/lib/images/a%20b.qcow2", "", "--qemu-image");
  REQUIRE(file_url);
  CHECK(file_url->kind == ImageSource::Kind::local_file);
  CHECK(file_url->path == "/var/lib/images/a b.qcow2");

  auto relative = parse_image_source("images/../disk.raw", "./SHA256SUMS", "--qemu-image");
  REQUIRE(relative);
  CHECK(relative->path.is_absolute());
  CHECK(relative->path.filename() == "disk.raw");
  CHECK(relative->checksum.kind == ChecksumSpec::Kind::sums);
  CHECK(relative->checksum.sums_path.is_absolute());

  auto fallback = parse_image_source("", "", "--qemu-image");
  REQUIRE(fallback);
  CHECK(fallback->url == k_default_image_url);
  CHECK(fallback->checksum.sums_url ==
        "https://cloud.debian.org/images/cloud/bookworm/latest/SHA512SUMS");
}

TEST_CASE("image sources: untrusted values are refused with what to do", "[vm_image]") {
  auto plain_http = parse_image_source("http://mirror.example/disk.img", "", "--qemu-image");
  REQUIRE_FALSE(plain_http);
  CHECK(mentions(plain_http.error().message, "give --qemu-image-checksum sha256:<hex>"));
  CHECK(plain_http.error().kind == ErrorKind::usage);

  auto ftp = parse_image_source("ftp://example.org/disk.img", "", "--qemu-image");
  REQUIRE_FALSE(ftp);
  CHECK(mentions(ftp.error().message, "scheme \"ftp\" is not supported"));

  auto space = parse_image_source("https://example.org/my disk.img", "", "--qemu-image");
  REQUIRE_FALSE(space);
  CHECK(mentions(space.error().message, "percent-encode"));

  auto control = parse_image_source("https://example.org/a\nb", "", "--qemu-image");
  REQUIRE_FALSE(control);
  CHECK_FALSE(mentions(control.error().message, "\n"));

  auto credentials =
      parse_image_source("https://user:secret@example.org/a.img", "", "--qemu-image");
  REQUIRE_FALSE(credentials);
  CHECK(mentions(credentials.error().message, "credentials"));

  auto no_host = parse_image_source("https:///a.img", "", "--qemu-image");
  REQUIRE_FALSE(no_host);
  CHECK(mentions(no_host.error().message, "no host"));

  auto remote_file = parse_image_source("file://otherhost/a.img", "", "--qemu-image");
  REQUIRE_FALSE(remote_file);
  CHECK(mentions(remote_file.error().message, "file:///path"));

  auto lone_checksum = parse_image_source("", "sha256:" + k_hex64, "--qemu-image");
  REQUIRE_FALSE(lone_checksum);
  CHECK(mentions(lone_checksum.error().message, "--qemu-image-checksum needs --qemu-image"));

  auto bad_checksum = parse_image_source("https://example.org/a.img", "deadbeef", "--qemu-image");
  REQUIRE_FALSE(bad_checksum);
  CHECK(mentions(bad_checksum.error().message, "--qemu-image-checksum"));

  auto gopher_sums =
      parse_image_source("https://example.org/a.img", "https://exa mple/SUMS", "--qemu-image");
  REQUIRE_FALSE(gopher_sums);

  CHECK_FALSE(check_download_url(std::string(3000, 'a').insert(0, "https://h/")));
  CHECK(check_download_url("https://[::1]:8443/a.img"));
  CHECK_FALSE(check_download_url("https://[::1/a.img"));
}

TEST_CASE("SUMS files: the image's line in GNU and BSD formats", "[vm_image]") {
  std::string sums = "# comment\r\n" + std::string(64, '1') + "  other.qcow2\r\n" +
                     std::string(64, '2') + " *disk.qcow2\r\n";
  auto found = find_in_sums(sums, "disk.qcow2", "http://h/SHA256SUMS");
  REQUIRE(found);
  CHECK(found->hex == std::string(64, '2'));
  CHECK(found->algorithm == DigestAlgorithm::sha256);

  auto by_length = find_in_sums(k_hex128 + "  disk.raw\n", "disk.raw", "http://h/CHECKSUMS");
  REQUIRE(by_length);
  CHECK(by_length->algorithm == DigestAlgorithm::sha512);

  auto bsd = find_in_sums("SHA256 (Fedora (x).qcow2) = " + std::string(64, 'C') + "\n",
                          "Fedora (x).qcow2", "CHECKSUM");
  REQUIRE(bsd);
  CHECK(bsd->hex == std::string(64, 'c'));

  // Debian's own format (SHA512SUMS, two spaces).
  auto debian = find_in_sums(k_hex128 + "  debian-12-genericcloud-amd64.qcow2\n",
                             "debian-12-genericcloud-amd64.qcow2",
                             "https://cloud.debian.org/images/cloud/bookworm/latest/SHA512SUMS");
  REQUIRE(debian);
  CHECK(debian->algorithm == DigestAlgorithm::sha512);
}

TEST_CASE("SUMS files: hostile content never matches and errors say why", "[vm_image]") {
  std::string name = "disk.qcow2";
  // Names that are not plain base names never match, even when they end in the name.
  std::string paths = std::string(64, '1') + "  ../disk.qcow2\n" + std::string(64, '2') +
                      "  ./disk.qcow2\n" + std::string(64, '3') + "  /etc/disk.qcow2\n" +
                      std::string(64, '4') + "  disk.qcow2\x1b\n" + "\\" + std::string(64, '5') +
                      "  disk.qcow2\n";
  auto none = find_in_sums(paths, name, "SHA256SUMS");
  REQUIRE_FALSE(none);
  CHECK(mentions(none.error().message, "has no line for \"disk.qcow2\""));
  CHECK_FALSE(mentions(none.error().message, "\x1b"));

  auto twice = find_in_sums(std::string(64, '1') + "  disk.qcow2\n" + std::string(64, '2') +
                                "  disk.qcow2\n",
                            name, "SHA256SUMS");
  REQUIRE_FALSE(twice);
  CHECK(mentions(twice.error().message, "twice with different checksums"));
  auto same_twice = find_in_sums(std::string(64, '1') + "  disk.qcow2\n" + std::string(64, '1') +
                                     "  disk.qcow2\n",
                                 name, "SHA256SUMS");
  CHECK(same_twice);

  auto wrong_length = find_in_sums(k_hex128 + "  disk.qcow2\n", name, "http://h/SHA256SUMS");
  REQUIRE_FALSE(wrong_length);
  CHECK(mentions(wrong_length.error().message, "expected 64"));
  auto md5 = find_in_sums(std::string(32, 'a') + "  disk.qcow2\n", name, "MD5SUMS");
  REQUIRE_FALSE(md5);
  CHECK(mentions(md5.error().message, "only SHA-256 (64) and SHA-512 (128)"));
  auto not_hex = find_in_sums(std::string(63, 'a') + "z  disk.qcow2\n", name, "SHA256SUMS");
  REQUIRE_FALSE(not_hex);
  CHECK(mentions(not_hex.error().message, "not a hex digit"));

  auto bad_name = find_in_sums(std::string(64, '1') + "  x\n", "../x", "SHA256SUMS");
  REQUIRE_FALSE(bad_name);
  CHECK(mentions(bad_name.error().message, "cannot be looked up"));

  CHECK_FALSE(find_in_sums("", name, "SHA256SUMS"));
  CHECK_FALSE(find_in_sums(std::string(1 << 20, 'x'), name, "SHA256SUMS"));
  CHECK_FALSE(find_in_sums(std::string(1 << 16, '\n') + "SHA256 (" + std::string(1000, ')'), name,
                           "SHA256SUMS"));
}

TEST_CASE("URL file names, sibling URLs and cache names", "[vm_image]") {
  CHECK(url_file_name("https://h/a/b/disk.qcow2?x=1#frag") == "disk.qcow2");
  CHECK(url_file_name("https://h") == "");
  CHECK(sibling_url("https://h/a/b/disk.qcow2?x=1", "SHA256SUMS") == "https://h/a/b/SHA256SUMS");
  CHECK(sibling_url("https://h", "SHA256SUMS") == "https://h/SHA256SUMS");

  std::regex safe("^[A-Za-z0-9._-]+$");
  for (const std::string& url : std::vector<std::string>{
           "https://h/..", "https://h/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "https://h/a/.hidden",
           "https://h/", "https://h", "https://h/" + std::string(500, 'x'), "https://h/a b\xff"}) {
    std::string name = cache_file_name(url, std::nullopt);
    INFO(url << " -> " << name);
    CHECK(std::regex_match(name, safe));
    CHECK(name.rfind("url-", 0) == 0);
    CHECK(name.size() <= 4 + 16 + 1 + 80);
  }
  CHECK(cache_file_name("https://h/", std::nullopt).substr(21) == "image");
  CHECK(cache_file_name("https://h/a.img", std::nullopt) !=
        cache_file_name("https://g/a.img", std::nullopt));
  Digest digest{DigestAlgorithm::sha512, k_hex128};
  CHECK(cache_file_name("https://h/a.img", digest) == "sha512-" + std::string(32, 'b') + "-a.img");
  // The same content under two URLs is one entry.
  CHECK(cache_file_name("https://g/a.img", digest) == cache_file_name("https://h/a.img", digest));
}

TEST_CASE("transfer progress: percent, speed and ETA; plain lines every 10%", "[vm_image]") {
  CHECK(format_transfer(42'000'000, 100'000'000, 2'000'000) ==
        "42% of 100.0 MB, 2.0 MB/s, ETA 0:29");
  CHECK(format_transfer(5'000'000, 0, 0) == "5.0 MB");
  CHECK(format_transfer(100, 100, 50) == "100% of 0.0 MB, 0.0 MB/s");
  CHECK(format_transfer(0, 4'000'000'000, 1'000'000) == "0% of 4000.0 MB, 1.0 MB/s, ETA 1:06:40");

  std::ostringstream out;
  Progress progress(out, ProgressStyle::plain);
  progress.step("image a.img");
  TransferMeter meter(progress, "downloading", "a.img");
  meter.start(0, 1000);
  for (int done = 1; done <= 1000; ++done) {
    meter.update(static_cast<std::uint64_t>(done));
  }
  progress.done();
  std::string text = out.str();
  std::size_t lines = 0;
  for (char c : text) {
    lines += c == '\n' ? 1 : 0;
  }
  CHECK(lines == 11); // 10%, 20%, ..., 100%, then the step's own line
  CHECK(mentions(text, "downloading a.img: 10% of 0.0 MB"));
  CHECK(mentions(text, "downloading a.img: 100% of"));

  std::ostringstream live_out;
  Progress live(live_out, ProgressStyle::live);
  live.step("image a.img");
  TransferMeter live_meter(live, "downloading", "a.img");
  live_meter.start(500, 1000);
  CHECK(mentions(live_out.str(), "\r\033[K  - image a.img: downloading 50% of"));
}
