#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include <libpq-fe.h>

#include "frontend/base/asio.hpp"

namespace warden::mcp {

// The database cannot be reached (or the connection broke mid-query): callers fail closed.
class DbUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The database answered with an error (a SQLSTATE); the connection is still usable.
class DbError : public std::runtime_error {
 public:
  DbError(std::string sqlstate, const std::string& message)
      : std::runtime_error(message), sqlstate_(std::move(sqlstate)) {}
  const std::string& sqlstate() const { return sqlstate_; }

 private:
  std::string sqlstate_;
};

using Param = std::optional<std::string>;
using Row = std::vector<std::optional<std::string>>;

// One statement of a pipeline, and what it came to: its rows, or the error it raised.
struct Statement {
  std::string sql;
  std::vector<Param> params;
};
using StatementResult = std::variant<std::vector<Row>, DbError>;

// One non-blocking libpq connection driven by Asio: the socket is watched with a dup'ed
// descriptor so that libpq keeps owning its own.
class PgConnection {
 public:
  PgConnection(Executor ex, std::string conninfo);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  bool connected() const;
  awaitable<void> connect();  // throws DbUnavailable
  void close();
  // Text parameters and text results; throws DbUnavailable or DbError.
  awaitable<std::vector<Row>> query(const std::string& sql, const std::vector<Param>& params);
  // Sends every statement at once (libpq pipeline mode), each followed by a sync so that each
  // runs and commits in its own implicit transaction, in order; one round trip for all. A
  // statement's error does not stop the ones after it. Throws DbUnavailable only.
  awaitable<std::vector<StatementResult>> pipeline(const std::vector<Statement>& statements);
  // LISTEN support: waits until at least one notification arrives, returns their payloads.
  awaitable<std::vector<std::string>> notifications();

 private:
  awaitable<void> wait(bool for_write);
  awaitable<void> flush();
  // The next result, waiting for it; nullptr where a statement's results end.
  awaitable<PGresult*> next_result();
  static Row row_of(PGresult* result, int i);
  static DbError error_of(PGresult* result);
  void watch_socket();
  [[noreturn]] void fail(const std::string& what);

  Executor ex_;
  std::string conninfo_;
  PGconn* conn_ = nullptr;
  std::optional<asio::posix::stream_descriptor> socket_;
  int watched_fd_ = -1;
};

}  // namespace warden::mcp
