#pragma once

#include <string>

#include "frontend/http_endpoint.hpp"

namespace warden::mcp {

inline constexpr std::size_t kMaxRequestBody = 4 * 1024 * 1024;

// Accepts HTTP/1.1 connections on host:port and hands each request to the endpoint.
// Throws when the address cannot be bound.
void start_http_server(asio::io_context& io, const std::string& host, const std::string& port,
                       HttpEndpoint& endpoint);

}  // namespace warden::mcp
