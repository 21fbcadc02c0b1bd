#include "frontend/db/db_listener.hpp"

#include <algorithm>
#include <iostream>

#include "frontend/db/pg_connection.hpp"

namespace warden::mcp {

awaitable<void> listen_for_events(Executor ex, std::string conninfo,
                                  std::function<void(const json&)> on_event,
                                  std::function<void()> on_connected) {
  PgConnection conn(ex, conninfo);
  auto backoff = std::chrono::milliseconds(100);
  bool reported = false;
  for (;;) {
    try {
      co_await conn.connect();
      std::vector<Param> none;
      co_await conn.query("LISTEN warden_events", none);
      if (reported) std::cerr << "warden-mcp: database reachable again\n";
      reported = false;
      backoff = std::chrono::milliseconds(100);
      on_connected();
      for (;;) {
        for (const auto& payload : co_await conn.notifications()) {
          json event = json::parse(payload, nullptr, false);
          if (event.is_object()) on_event(event);
        }
      }
    } catch (const std::exception& e) {
      if (!reported) std::cerr << "warden-mcp: lost the database: " << e.what() << "\n";
      reported = true;
    }
    conn.close();
    asio::steady_timer timer(ex);
    timer.expires_after(backoff);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
    backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
  }
}

}  // namespace warden::mcp
