#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "frontend/base/event.hpp"
#include "frontend/db/pg_connection.hpp"

namespace warden::mcp {

// A few non-blocking connections shared by every request. A broken connection is reopened on
// demand, at most once per backoff interval; in between, queries fail at once with
// DbUnavailable so that callers deny instead of waiting.
class DbPool {
 public:
  // Each connection, once open, runs pg_catalog.set_config(name, value) for every setting.
  using Settings = std::vector<std::pair<std::string, std::string>>;
  DbPool(const Executor& ex, const std::string& conninfo, std::size_t size,
         Settings session_settings = {});
  ~DbPool();
  DbPool(const DbPool&) = delete;
  DbPool& operator=(const DbPool&) = delete;

  // An exchange with the server (connecting, a query) that has had no answer for this long is
  // given up (DbUnavailable, the connection closed): longer than the server's own
  // statement_timeout (15 s), which ends any query a live server is still running.
  static constexpr std::chrono::seconds kAnswerTimeout{20};

  // See PgConnection::prepare_statements (on by default).
  void prepare_statements(bool on);
  // Gives every connection up: idle ones are closed, and the exchanges under way fail with
  // DbUnavailable(why). For when the connections may be cut without knowing it (the listener
  // lost the database: a partition that drops packets leaves them waiting for minutes).
  void reset(const std::string& why);
  awaitable<std::vector<Row>> query(const std::string& sql, const std::vector<Param>& params);
  // Several statements in one round trip, each in its own transaction (PgConnection::pipeline).
  awaitable<std::vector<StatementResult>> pipeline(const std::vector<Statement>& statements);
  // True when a trivial query succeeds now.
  awaitable<bool> ping();
  const Executor& executor() const { return ex_; }

 private:
  struct Slot {
    std::unique_ptr<PgConnection> conn;
    bool busy = false;
  };
  class Lease;

  awaitable<std::size_t> acquire();
  void release(std::size_t index);
  awaitable<void> ensure_connected(PgConnection& conn);
  void forget_idle_connections();
  // Once a second: abandons the exchanges waiting longer than kAnswerTimeout.
  static awaitable<void> watch(Executor ex, DbPool* pool, std::shared_ptr<bool> alive);

  Executor ex_;
  Settings session_settings_;
  std::vector<Slot> slots_;
  Broadcast freed_;
  std::chrono::steady_clock::time_point retry_at_{};
  std::chrono::milliseconds backoff_{0};
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace warden::mcp
