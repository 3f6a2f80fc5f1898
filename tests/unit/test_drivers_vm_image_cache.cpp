// The image cache against the real libcurl client and a real HTTP server on 127.0.0.1.
#include "core/curl_http_client.h"
#include "core/digest.h"
#include "core/interrupt.h"
#include "core/progress.h"
#include "drivers/vm/image_cache.h"
#include "tests/fakes/loopback_http_server.h"
#include "tests/fakes/temp_dir.h"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <netinet/in.h>
#include <random>
#include <set>
#include <signal.h>
#include <sstream>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace dm;
using namespace dm::vm;
using dm::testing::LoopbackHttpServer;
using dm::testing::TempDir;
namespace fs = std::filesystem;

namespace {

std::string random_bytes(std::size_t size, unsigned seed) {
  std::mt19937 random(seed);
  std::string data(size, '\0');
  for (char& c : data) {
    c = static_cast<char>(random() & 0xff);
  }
  return data;
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void spill(const fs::path& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  out << data;
}

std::set<std::string> entries(const fs::path& dir) {
  std::set<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

bool mentions(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A port on 127.0.0.1 where nothing listens.
int closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), length) == 0);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  ::close(fd);
  return ntohs(address.sin_port);
}

// A store, a server with one image on it, and what a fetch needs.
struct Fixture {
  TempDir store{"dm-vm-image"};
  LoopbackHttpServer server;
  CurlHttpClient http;
  std::ostringstream log;
  Progress progress{log, ProgressStyle::plain};
  ImageCacheDirs dirs = image_cache_dirs(store.path());
  ImageFetchOptions options;
  std::string image = random_bytes(3'000'000, 7);
  std::string digest = "sha256:" + hex_lower(sha256(image));

  Fixture() {
    options.stall_timeout_seconds = 2;
    options.connect_timeout_seconds = 5;
  }

  ImageSource source(const std::string& path, const std::string& checksum) {
    auto parsed = parse_image_source(server.url(path), checksum, "--qemu-image");
    REQUIRE(parsed);
    return *parsed;
  }

  Result<fs::path> fetch(const ImageSource& from) {
    return fetch_image(from, dirs, http, progress, options);
  }

  // A .part file for from's cache entry, as an earlier run would leave it.
  void leave_part(const ImageSource& from, const std::string& data) {
    auto expected = expected_digest(from, http);
    REQUIRE(expected);
    REQUIRE(*expected);
    fs::create_directories(dirs.images);
    spill(dirs.images / (cache_file_name(from.url, *expected) + ".part"), data);
  }
};

} // namespace

TEST_CASE("image download: verified, installed atomically, then served from the cache",
          "[vm_image]") {
  Fixture f;
  f.server.route("/images/disk.qcow2", {.body = f.image});
  auto source = f.source("/images/disk.qcow2", f.digest);

  auto path = f.fetch(source);
  REQUIRE(path);
  CHECK(path->parent_path() == f.store.path() / "cache" / "images");
  CHECK(path->filename().string().rfind("sha256-", 0) == 0);
  CHECK(slurp(*path) == f.image);
  CHECK(dm::testing::mode_of(*path) == 0644);
  CHECK(dm::testing::mode_of(f.store.path() / "cache" / "images") == 0700);
  CHECK(dm::testing::mode_of(f.store.path() / "cache") == 0700);
  std::string name = path->filename().string();
  CHECK(entries(f.dirs.images) == std::set<std::string>{name, name + ".verified"});

  // Again: no request for the image, the recorded verification is enough.
  auto again = f.fetch(source);
  REQUIRE(again);
  CHECK(*again == *path);
  CHECK(f.server.count("/images/disk.qcow2") == 1);
  CHECK(mentions(f.log.str(), "using the cached image"));

  // A cached copy changed behind our back is hashed again, found bad, and replaced.
  spill(*path, "garbage");
  auto replaced = f.fetch(source);
  REQUIRE(replaced);
  CHECK(slurp(*replaced) == f.image);
  CHECK(f.server.count("/images/disk.qcow2") == 2);
  CHECK(mentions(f.log.str(), "does not verify: downloading it again"));
}

TEST_CASE("image download: the digest comes from a SUMS file next to the image", "[vm_image]") {
  Fixture f;
  f.server.route("/d/disk.qcow2", {.body = f.image});
  f.server.route("/d/SHA256SUMS", {.body = hex_lower(sha256("other")) + "  other.img\n" +
                                           hex_lower(sha256(f.image)) + " *disk.qcow2\n"});
  auto path = f.fetch(f.source("/d/disk.qcow2", f.server.url("/d/SHA256SUMS")));
  REQUIRE(path);
  CHECK(slurp(*path) == f.image);

  // The SUMS file out of reach (offline): the copy verified earlier is used.
  f.server.route("/d/SHA256SUMS", {.status = 500, .body = "down"});
  auto offline = f.fetch(f.source("/d/disk.qcow2", f.server.url("/d/SHA256SUMS")));
  REQUIRE(offline);
  CHECK(*offline == *path);
  CHECK(mentions(f.log.str(), "cannot read the checksums (checksum file: GET " +
                                  f.server.url("/d/SHA256SUMS") + ": HTTP 500"));
  CHECK(f.server.count("/d/disk.qcow2") == 1);

  auto missing = f.fetch(f.source("/d/disk.qcow2", f.server.url("/d/NOSUMS")));
  REQUIRE_FALSE(missing);
  CHECK(mentions(missing.error().message,
                 "checksum file: GET " + f.server.url("/d/NOSUMS") + ": HTTP 404"));

  f.server.route("/d/HUGE", {.body = std::string(2 << 20, 'x')});
  auto huge = f.fetch(f.source("/d/disk.qcow2", f.server.url("/d/HUGE")));
  REQUIRE_FALSE(huge);
  CHECK(mentions(huge.error().message, "not a checksum file"));

  f.server.route("/d/SHA512SUMS", {.body = std::string(128, 'a') + "  else.qcow2\n"});
  auto unlisted = f.fetch(f.source("/d/disk.qcow2", f.server.url("/d/SHA512SUMS")));
  REQUIRE_FALSE(unlisted);
  CHECK(mentions(unlisted.error().message, "has no line for \"disk.qcow2\" (it lists else.qcow2"));
}

TEST_CASE("image download: a checksum mismatch discards the file and says so", "[vm_image]") {
  Fixture f;
  f.server.route("/disk.img", {.body = f.image});
  std::string wrong = "sha256:" + std::string(64, '0');
  auto result = f.fetch(f.source("/disk.img", wrong));
  REQUIRE_FALSE(result);
  CHECK(mentions(result.error().message, "checksum mismatch for " + f.server.url("/disk.img") +
                                             ": expected " + wrong + ", got " + f.digest +
                                             "; the file was discarded"));
  CHECK(entries(f.dirs.images).empty());
}

TEST_CASE("image download: an interrupted download resumes with a Range request", "[vm_image]") {
  Fixture f;
  f.server.route("/disk.img", {.body = f.image, .cuts = 1, .cut_after = 1'000'000});
  auto source = f.source("/disk.img", f.digest);

  auto first = f.fetch(source);
  REQUIRE_FALSE(first);
  CHECK(mentions(first.error().message, "the partial download (1.0 MB) is kept and resumes on "
                                        "the next run"));
  auto left = entries(f.dirs.images);
  REQUIRE(left.size() == 1);
  std::string part = *left.begin();
  CHECK(part.size() > 5);
  CHECK(part.substr(part.size() - 5) == ".part");
  CHECK(fs::file_size(f.dirs.images / part) == 1'000'000);
  CHECK(dm::testing::mode_of(f.dirs.images / part) == 0600);

  auto second = f.fetch(source);
  REQUIRE(second);
  CHECK(slurp(*second) == f.image);
  auto requests = f.server.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[0].range.empty());
  CHECK(requests[1].range == "bytes=1000000-");
  CHECK(mentions(f.log.str(), "resuming the download of"));
  CHECK_FALSE(fs::exists(f.dirs.images / part));
}

TEST_CASE("image download: a server without Range support starts over", "[vm_image]") {
  Fixture f;
  f.server.route("/disk.img", {.body = f.image, .ranges = false, .cuts = 1, .cut_after = 500'000});
  auto source = f.source("/disk.img", f.digest);
  REQUIRE_FALSE(f.fetch(source));
  auto second = f.fetch(source);
  REQUIRE(second);
  CHECK(slurp(*second) == f.image);
  CHECK(f.server.requests().back().range == "bytes=500000-");
}

TEST_CASE("image download: a resumed download that does not verify starts over once",
          "[vm_image]") {
  Fixture f;
  f.server.route("/disk.img", {.body = f.image});
  auto source = f.source("/disk.img", f.digest);
  // A stale partial file, e.g. from an older image at the same name.
  f.leave_part(source, std::string(700'000, 'x'));
  auto path = f.fetch(source);
  REQUIRE(path);
  CHECK(slurp(*path) == f.image);
  auto requests = f.server.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[0].range == "bytes=700000-");
  CHECK(requests[1].range.empty());
  CHECK(mentions(f.log.str(), "the resumed download does not verify"));
}

TEST_CASE("image download: a complete partial file is installed without a transfer", "[vm_image]") {
  Fixture f;
  f.server.route("/disk.img", {.body = f.image});
  auto source = f.source("/disk.img", f.digest);
  f.leave_part(source, f.image);
  auto path = f.fetch(source);
  REQUIRE(path);
  CHECK(slurp(*path) == f.image);
  REQUIRE(f.server.requests().size() == 1);
  CHECK(f.server.requests()[0].range == "bytes=3000000-"); // answered 416 */3000000
}

TEST_CASE("image download: 404, refused connections and stalls give clear errors", "[vm_image]") {
  Fixture f;
  auto missing = f.fetch(f.source("/nothing.img", f.digest));
  REQUIRE_FALSE(missing);
  CHECK(mentions(missing.error().message,
                 "GET " + f.server.url("/nothing.img") +
                     ": HTTP 404: the server has no such file: check the URL"));
  CHECK(mentions(missing.error().message, "image nothing.img: "));
  CHECK(entries(f.dirs.images).empty());

  std::string refused_url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/disk.img";
  auto source = parse_image_source(refused_url, f.digest, "--qemu-image");
  REQUIRE(source);
  auto refused = f.fetch(*source);
  REQUIRE_FALSE(refused);
  CHECK(mentions(refused.error().message, "GET " + refused_url + ": connection refused"));
  CHECK(entries(f.dirs.images).empty());

  f.server.route("/slow.img", {.body = f.image, .cuts = 1, .cut_after = 1000, .stall = true});
  auto started = std::chrono::steady_clock::now();
  auto stalled = f.fetch(f.source("/slow.img", f.digest));
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  REQUIRE_FALSE(stalled);
  CHECK(stalled.error().kind == ErrorKind::timeout);
  CHECK(mentions(stalled.error().message, "kept and resumes on the next run"));
  CHECK(seconds < 10);
  CHECK(entries(f.dirs.images).size() == 1); // the .part, for the next run
}

TEST_CASE("image download: redirects are followed", "[vm_image]") {
  Fixture f;
  f.server.route("/disk.img", {.body = f.image});
  f.server.route("/latest/disk.img", {.status = 302, .headers = {{"Location", "/disk.img"}}});
  auto path = f.fetch(f.source("/latest/disk.img", f.digest));
  REQUIRE(path);
  CHECK(slurp(*path) == f.image);
}

TEST_CASE("image download: two fetches of one image at once download it once", "[vm_image]") {
  Fixture f;
  f.server.route("/disk.img", {.body = f.image, .chunk_delay_ms = 10});
  auto source = f.source("/disk.img", f.digest);
  Result<fs::path> results[2];
  std::ostringstream logs[2];
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&, i] {
      CurlHttpClient http;
      Progress progress(logs[i], ProgressStyle::plain);
      results[i] = fetch_image(source, f.dirs, http, progress, f.options);
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  REQUIRE(results[0]);
  REQUIRE(results[1]);
  CHECK(*results[0] == *results[1]);
  CHECK(f.server.count("/disk.img") == 1);
  CHECK(mentions(logs[0].str() + logs[1].str(), "waiting for another dmachine process"));
}

TEST_CASE("image download: an image without a checksum (https) is cached by URL", "[vm_image]") {
  Fixture f;
  f.server.route("/disk.img", {.body = f.image, .cuts = 1, .cut_after = 500'000});
  ImageSource source;
  source.url = f.server.url("/disk.img"); // as https would be: no checksum required
  REQUIRE_FALSE(f.fetch(source));
  // Nothing could tell a file stitched from two versions: no resume without a digest.
  auto path = f.fetch(source);
  REQUIRE(path);
  REQUIRE(f.server.requests().size() == 2);
  CHECK(f.server.requests()[1].range.empty());
  CHECK(path->filename().string().rfind("url-", 0) == 0);
  CHECK(slurp(fs::path(path->string() + ".verified")).rfind(f.digest + " 3000000 ", 0) == 0);
  REQUIRE(f.fetch(source));
  CHECK(f.server.count("/disk.img") == 2);
}

TEST_CASE("local images: verified and used in place, never changed", "[vm_image]") {
  Fixture f;
  fs::path file = f.store.path() / "my disk.img";
  spill(file, f.image);
  auto good = parse_image_source(file.string(), f.digest, "--qemu-image");
  REQUIRE(good);
  auto path = f.fetch(*good);
  REQUIRE(path);
  CHECK(*path == file);

  auto bad = parse_image_source("file://" + file.string(), "sha256:" + std::string(64, 'f'),
                                "--qemu-image");
  REQUIRE(bad);
  auto mismatch = f.fetch(*bad);
  REQUIRE_FALSE(mismatch);
  CHECK(mentions(mismatch.error().message, "the file was not used (it is left as it is)"));
  CHECK(slurp(file) == f.image);

  spill(f.store.path() / "SHA256SUMS", hex_lower(sha256(f.image)) + "  my disk.img\n");
  auto with_sums =
      parse_image_source(file.string(), (f.store.path() / "SHA256SUMS").string(), "--qemu-image");
  REQUIRE(with_sums);
  CHECK(f.fetch(*with_sums));

  auto gone = parse_image_source((f.store.path() / "gone.img").string(), "", "--qemu-image");
  REQUIRE(gone);
  auto missing = f.fetch(*gone);
  REQUIRE_FALSE(missing);
  CHECK(mentions(missing.error().message, "No such file or directory: give an existing image "
                                          "file or an http(s) URL"));
  CHECK_FALSE(fs::exists(f.dirs.images));
}

// Ctrl-C: the test runs this binary again on the hidden case below, as a child that
// downloads from a stalling server, and sends it SIGINT.
TEST_CASE("image download: Ctrl-C stops a download and keeps the part file", "[vm_image]") {
  Fixture f;
  f.server.route("/disk.img", {.body = f.image, .cuts = 1, .cut_after = 300'000, .stall = true});
  // Everything the child needs is made before fork: after it, only execve.
  std::vector<std::string> settings = {"DM_TEST_IMAGE_URL=" + f.server.url("/disk.img"),
                                       "DM_TEST_IMAGE_DIGEST=" + f.digest,
                                       "DM_TEST_STORE=" + f.store.path().string()};
  std::vector<char*> envp;
  for (auto& setting : settings) {
    envp.push_back(setting.data());
  }
  envp.push_back(nullptr);
  std::string self = fs::read_symlink("/proc/self/exe").string();
  std::string name = "unit_tests";
  std::string filter = "[.vm_image_child]";
  char* argv[] = {name.data(), filter.data(), nullptr};
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::execve(self.c_str(), argv, envp.data());
    ::_exit(127);
  }
  // Wait for the child's request, then interrupt it.
  for (int i = 0; i < 100 && f.server.count("/disk.img") == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto sent = std::chrono::steady_clock::now();
  ::kill(child, SIGINT);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - sent).count();
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0); // the child's own checks passed
  CHECK(seconds < 3);
  auto left = entries(f.dirs.images);
  REQUIRE(left.size() == 1);
  CHECK(fs::file_size(f.dirs.images / *left.begin()) == 300'000);
}

TEST_CASE("image download child: interrupted", "[.vm_image_child]") {
  const char* url = std::getenv("DM_TEST_IMAGE_URL");
  if (url == nullptr) {
    WARN("skipped: run by the Ctrl-C test only");
    return;
  }
  install_interrupt_handlers();
  CurlHttpClient http;
  std::ostringstream log;
  Progress progress(log, ProgressStyle::plain);
  auto source = parse_image_source(url, std::getenv("DM_TEST_IMAGE_DIGEST"), "--qemu-image");
  REQUIRE(source);
  ImageFetchOptions options;
  options.stall_timeout_seconds = 20;
  auto result =
      fetch_image(*source, image_cache_dirs(std::getenv("DM_TEST_STORE")), http, progress, options);
  REQUIRE_FALSE(result);
  CHECK(result.error().kind == ErrorKind::interrupted);
  CHECK(mentions(result.error().message, "interrupted; the partial download (0.3 MB) is kept"));
}

// Figures for the notes: throughput from 127.0.0.1 and peak RSS while downloading a big file.
// Run by hand: build/unit_tests "[.vm_image_bench]" (DM_BENCH_MB, default 200).
TEST_CASE("image download benchmark", "[.vm_image_bench]") {
  Fixture f;
  std::size_t megabytes = std::getenv("DM_BENCH_MB") ? std::stoul(std::getenv("DM_BENCH_MB")) : 200;
  fs::path file = f.store.path() / "big.img";
  {
    std::string block = random_bytes(1 << 20, 3);
    std::ofstream out(file, std::ios::binary);
    for (std::size_t i = 0; i < megabytes; ++i) {
      block[0] = static_cast<char>(i);
      out << block;
    }
  }
  auto digest = hash_file(file, DigestAlgorithm::sha512);
  REQUIRE(digest);
  f.server.route("/big.img", {.file = file});
  rusage before{};
  ::getrusage(RUSAGE_SELF, &before);
  auto started = std::chrono::steady_clock::now();
  // Shown as a user sees it: live on a terminal, plain lines otherwise.
  Progress shown(std::cerr, progress_style_for_stderr());
  auto path =
      fetch_image(f.source("/big.img", digest->to_string()), f.dirs, f.http, shown, f.options);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  REQUIRE(path);
  rusage after{};
  ::getrusage(RUSAGE_SELF, &after);
  auto cached_started = std::chrono::steady_clock::now();
  REQUIRE(f.fetch(f.source("/big.img", digest->to_string())));
  double cached =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - cached_started).count();
  // A touched file (new mtime) is hashed again before it is trusted.
  fs::last_write_time(*path, fs::file_time_type::clock::now());
  auto rehash_started = std::chrono::steady_clock::now();
  REQUIRE(f.fetch(f.source("/big.img", digest->to_string())));
  double rehash =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - rehash_started).count();
  CHECK(f.server.count("/big.img") == 1);
  WARN(megabytes << " MB (" << (megabytes << 20) << " bytes) in " << seconds
                 << " s: " << static_cast<double>(megabytes << 20) / 1e6 / seconds
                 << " MB/s (sha512 while writing); peak RSS before " << before.ru_maxrss / 1024
                 << " MiB, after " << after.ru_maxrss / 1024 << " MiB; cached fetch " << cached
                 << " s; cached fetch after touch (re-hash) " << rehash << " s");
}
