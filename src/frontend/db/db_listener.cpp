#include "frontend/db/db_listener.hpp"

#include <algorithm>
#include <iostream>
#include <memory>

#include "frontend/db/pg_connection.hpp"

namespace warden::mcp {

namespace {

// An idle LISTEN connection cut by the network (a partition, a failover that left the old
// server unreachable) hears nothing and says nothing, and revocations would stop reaching the
// calls in flight. So after kQuiet without a notification the listener asks the server
// something, and gives the connection up when kAnswer passes without an answer: a silent
// cut is noticed within kQuiet + kAnswer + the watch's tick.
constexpr auto kQuiet = std::chrono::seconds(5);
constexpr auto kAnswer = std::chrono::seconds(10);

// Once a second, while `alive` lives: abandons `conn`'s exchange when it has waited beyond
// kAnswer.
awaitable<void> watch(Executor ex, PgConnection* conn, std::weak_ptr<const bool> alive) {
  asio::steady_timer tick(ex);
  for (;;) {
    tick.expires_after(std::chrono::seconds(1));
    boost::system::error_code ec;
    co_await tick.async_wait(asio::redirect_error(use_awaitable, ec));
    if (alive.expired()) co_return;
    if (conn->busy_for() > kAnswer) {
      conn->abandon("the database did not answer the listener within " +
                    std::to_string(kAnswer.count()) + " s");
    }
  }
}

}  // namespace

awaitable<void> listen_for_events(Executor ex, std::string conninfo,
                                  std::function<void(const json&)> on_event,
                                  std::function<void()> on_connected) {
  PgConnection conn(ex, conninfo);
  // The watch ends at its next tick after this frame does (at teardown), without touching conn.
  const auto alive = std::make_shared<const bool>(true);
  asio::co_spawn(ex, watch(ex, &conn, alive), asio::detached);
  auto backoff = std::chrono::milliseconds(100);
  bool reported = false;
  std::vector<Param> none;
  for (;;) {
    try {
      co_await conn.connect();
      // Named, so that an operator (and a test) can tell it from the pool's connections in
      // pg_stat_activity.
      co_await conn.query("SET application_name = 'warden-mcp listener'", none);
      co_await conn.query("LISTEN warden_events", none);
      if (reported) std::cerr << "warden-mcp: database reachable again\n";
      reported = false;
      backoff = std::chrono::milliseconds(100);
      on_connected();
      for (;;) {
        std::vector<std::string> payloads = co_await conn.notifications(kQuiet);
        // Nothing for a while: is the server still there? The watch gives up on the question
        // after kAnswer. Connecting is not watched, as in DbPool: libpq moves on to the next
        // host of a multi-host conninfo only once an attempt fails on its own.
        if (payloads.empty()) co_await conn.query("SELECT 1", none);
        for (const auto& payload : payloads) {
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
