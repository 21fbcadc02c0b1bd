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

  // See PgConnection::prepare_statements (on by default).
  void prepare_statements(bool on);
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

  Executor ex_;
  Settings session_settings_;
  std::vector<Slot> slots_;
  Broadcast freed_;
  std::chrono::steady_clock::time_point retry_at_{};
  std::chrono::milliseconds backoff_{0};
};

}  // namespace warden::mcp
