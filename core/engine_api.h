#pragma once
// The Docker engine API over mutual TLS (through HttpClient): ping, wait, version and JSON
// GET/POST for swarm. Non-2xx answers are errors carrying the engine's "message".
#include "core/http_client.h"
#include "core/result.h"

#include <nlohmann/json.hpp>

#include <string>

namespace dm {

struct EngineEndpoint {
  std::string url; // tcp://IP:2376
  std::string ca_cert_path;
  std::string client_cert_path;
  std::string client_key_path;
};

// tcp://1.2.3.4:2376 -> https://1.2.3.4:2376 (IPv6 brackets kept; a trailing '/' dropped).
std::string engine_https_base(const std::string& tcp_url);

// GET /_ping: 200 with body "OK".
Result<void> engine_ping(HttpClient& http, const EngineEndpoint& endpoint, int timeout_seconds);
// Pings once a second until it answers or total_seconds pass; the error keeps the last failure.
Result<void> wait_for_engine(HttpClient& http, const EngineEndpoint& endpoint, int total_seconds);
// GET /version -> "Version".
Result<std::string> engine_version(HttpClient& http, const EngineEndpoint& endpoint,
                                   int timeout_seconds);
// GET/POST path (a query string may follow the path) (e.g. "/swarm", "/swarm/init"); a 2xx body is parsed as JSON (empty -> null).
Result<nlohmann::json> engine_get(HttpClient& http, const EngineEndpoint& endpoint,
                                  const std::string& path, int timeout_seconds);
Result<nlohmann::json> engine_post(HttpClient& http, const EngineEndpoint& endpoint,
                                   const std::string& path, const nlohmann::json& body,
                                   int timeout_seconds);
// DELETE path (e.g. "/nodes/ID?force=true").
Result<nlohmann::json> engine_delete(HttpClient& http, const EngineEndpoint& endpoint,
                                     const std::string& path, int timeout_seconds);

} // namespace dm
