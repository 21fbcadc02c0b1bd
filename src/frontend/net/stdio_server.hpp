#pragma once

#include <functional>
#include <string>

#include "frontend/mcp/gateway.hpp"

namespace warden::mcp {

// The gateway as a stdio MCP server: newline-delimited JSON-RPC on stdin/stdout, one agent
// (the token file's). At the end of input it calls `at_end`, which shuts down gently: the
// requests already read are still answered on stdout (a client that closes its side first may
// still be reading) and their outcomes written.
void start_stdio_server(asio::io_context& io, Gateway& gateway, Decisions& decisions,
                        std::string token, std::function<void()> at_end);

}  // namespace warden::mcp
