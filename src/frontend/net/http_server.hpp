#pragma once

#include <string>

#include "frontend/net/http_endpoint.hpp"

namespace warden::mcp {

inline constexpr std::size_t kMaxRequestBody = 4 * 1024 * 1024;

// What an unauthenticated client may hold of the listener.
struct ServerLimits {
  std::chrono::seconds header_timeout{10};  // to send a request's headers (also keep-alive idle)
  std::chrono::seconds body_timeout{30};    // to send its body once the headers are in
  std::size_t max_connections = 1024;
  std::size_t max_connections_per_address = 512;
};

// Accepts HTTP/1.1 connections on host:port and hands each request to the endpoint; counts
// connections the limits drop in `metrics`. Throws when the address cannot be bound. Returns
// the port it listens on (the one the system chose for port 0).
unsigned short start_http_server(asio::io_context& io, const std::string& host,
                                 const std::string& port, HttpEndpoint& endpoint,
                                 const ServerLimits& limits, Metrics& metrics);

}  // namespace warden::mcp
