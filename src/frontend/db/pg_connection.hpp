#pragma once

#include <optional>
#include <stdexcept>
#include <string>
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
  // LISTEN support: waits until at least one notification arrives, returns their payloads.
  awaitable<std::vector<std::string>> notifications();

 private:
  awaitable<void> wait(bool for_write);
  void watch_socket();
  [[noreturn]] void fail(const std::string& what);

  Executor ex_;
  std::string conninfo_;
  PGconn* conn_ = nullptr;
  std::optional<asio::posix::stream_descriptor> socket_;
  int watched_fd_ = -1;
};

}  // namespace warden::mcp
