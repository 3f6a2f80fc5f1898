#pragma once
// A small HTTP/1.1 server on 127.0.0.1 (a free port) for tests of real downloads: serves
// bodies from memory or disk, answers Range requests with 206 when a route allows, and can
// cut a response short or stall it. One connection per request; records every request.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace dm::testing {

class LoopbackHttpServer {
public:
  struct Route {
    int status = 200;
    std::string body;
    std::filesystem::path file; // when set, the body is streamed from this file
    bool ranges = true;         // "Range: bytes=N-" is answered with 206 (else ignored: 200)
    // The next `cuts` responses send only `cut_after` body bytes (of the full length
    // they announce), then close the connection, or keep it open silently when stall.
    int cuts = 0;
    std::uint64_t cut_after = 0;
    bool stall = false;
    int chunk_delay_ms = 0; // a pause after every 64 KiB of body (a slow server)
    std::map<std::string, std::string> headers; // extra response headers (Location, ...)
  };
  struct Request {
    std::string path;
    std::string range; // the Range header, "" when absent
  };

  LoopbackHttpServer();
  ~LoopbackHttpServer();
  LoopbackHttpServer(const LoopbackHttpServer&) = delete;
  LoopbackHttpServer& operator=(const LoopbackHttpServer&) = delete;

  void route(const std::string& path, Route route);
  [[nodiscard]] std::string url(const std::string& path) const;
  [[nodiscard]] int port() const { return m_port; }
  [[nodiscard]] std::vector<Request> requests() const;
  // Requests for path so far.
  [[nodiscard]] int count(const std::string& path) const;

private:
  void accept_loop();
  void serve(int fd);

  int m_listen_fd = -1;
  int m_port = 0;
  std::atomic<bool> m_stop{false};
  mutable std::mutex m_mutex;
  std::map<std::string, Route> m_routes;
  std::vector<Request> m_requests;
  std::vector<std::thread> m_connections;
  std::thread m_acceptor;
};

} // namespace dm::testing
