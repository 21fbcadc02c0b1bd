#pragma once

#include <string>

#include "frontend/mcp/gateway.hpp"

namespace warden::mcp {

// The gateway as a stdio MCP server: newline-delimited JSON-RPC on stdin/stdout, one agent
// (the token file's). Stops the io_context at end of input.
void start_stdio_server(asio::io_context& io, Gateway& gateway, Decisions& decisions,
                        std::string token);

}  // namespace warden::mcp
