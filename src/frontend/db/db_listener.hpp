#pragma once

#include <functional>
#include <string>

#include "frontend/base/asio.hpp"
#include "frontend/mcp/json_rpc.hpp"

namespace warden::mcp {

// LISTENs on warden_events over its own connection, for as long as the io_context runs,
// reconnecting with backoff. After a few quiet seconds it asks the server something, so that a
// connection the network cut silently is noticed (and replaced) within seconds. `on_event` gets
// each decoded payload; `on_connected` runs after every (re)connection, since announcements
// made while disconnected were lost.
awaitable<void> listen_for_events(Executor ex, std::string conninfo,
                                  std::function<void(const json&)> on_event,
                                  std::function<void()> on_connected);

}  // namespace warden::mcp
