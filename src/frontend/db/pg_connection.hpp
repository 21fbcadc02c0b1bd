#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <unordered_map>
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
  DbError(std::string sqlstate, const std::string& message, std::string source_function = "")
      : std::runtime_error(message),
        sqlstate_(std::move(sqlstate)),
        source_function_(std::move(source_function)) {}
  const std::string& sqlstate() const { return sqlstate_; }
  // The server function that raised it (PG_DIAG_SOURCE_FUNCTION): unlike the message, the
  // same whatever the server's lc_messages.
  const std::string& source_function() const { return source_function_; }
  // A statement prepared before a schema change whose result columns changed (ALTER EXTENSION
  // UPDATE while the gateway runs), told by where the server raised it (its message is
  // translated); or a named statement the server does not know (26000: a pooler gave us
  // another session). Either is refused before the statement ran, so preparing it anew and
  // running it once more is safe.
  bool stale_plan() const {
    return sqlstate_ == "26000" ||
           (sqlstate_ == "0A000" && source_function_ == "RevalidateCachedQuery");
  }

 private:
  std::string sqlstate_;
  std::string source_function_;
};

using Param = std::optional<std::string>;
using Row = std::vector<std::optional<std::string>>;

// One statement of a pipeline, and what it came to: its rows, or the error it raised.
struct Statement {
  std::string sql;
  std::vector<Param> params;
  // Runs in one transaction with the statement after it (no sync between them): both commit,
  // or neither does.
  bool joins_next = false;
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
  // Whether SELECT statements are prepared once per connection under a name and then only
  // bound and executed (default), or parsed and planned anew on every run (for a pooler in
  // transaction mode that cannot keep named statements).
  void prepare_statements(bool on) { prepare_ = on; }
  // How long the current exchange with the server (a query, a pipeline) has heard nothing
  // from it; zero when there is none. Connecting does not count (libpq moves on to the next
  // host of a multi-host conninfo only once a host's attempt fails on its own), nor does
  // LISTEN's wait for notifications.
  std::chrono::steady_clock::duration busy_for() const;
  // Gives up on the current exchange: its wait ends and it fails with DbUnavailable(why), the
  // connection closed. For a server that stopped answering (a network partition that drops
  // packets without a reset) where nothing else would end the wait for minutes.
  void abandon(std::string why);
  void close();
  // Text parameters and text results; throws DbUnavailable or DbError.
  awaitable<std::vector<Row>> query(const std::string& sql, const std::vector<Param>& params);
  // Sends every statement at once (libpq pipeline mode), each followed by a sync so that each
  // runs and commits in its own implicit transaction, in order; one round trip for all. A
  // statement's error does not stop the ones after it. Statements joined (joins_next) share
  // one transaction instead: when one of them fails, it has its own error and every other one
  // of that transaction has 25P02 (rolled back with it), even those whose rows came back; an
  // error at the commit itself is the result of each. Every statement is prepared first
  // (when preparing is on and the connection's bound on prepared statements is not reached):
  // one the server refuses to prepare throws its DbError before anything is sent, so a pipeline
  // runs whole or not at all. Otherwise a statement that fails (unprepared, or at execution)
  // is that statement's result, never an exception. Throws DbUnavailable when the connection
  // is lost.
  awaitable<std::vector<StatementResult>> pipeline(const std::vector<Statement>& statements);
  // LISTEN support: waits until at least one notification arrives and returns their payloads,
  // or returns none once `quiet` has passed without any (the caller may then check that the
  // server still answers: an idle connection cut by the network says nothing).
  awaitable<std::vector<std::string>> notifications(std::chrono::steady_clock::duration quiet);

 private:
  // The name this connection prepared `sql` under, preparing it first (one round trip, once);
  // nullptr when the statement is run unnamed. Throws DbError when it does not parse.
  awaitable<const std::string*> prepared(const std::string& sql);
  awaitable<std::vector<Row>> run(const std::string& sql, const std::vector<Param>& params,
                                  bool again_if_stale);
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
  bool prepare_ = true;
  // Since when the current exchange has heard nothing from the server (see busy_for); shared
  // with the exchange's marker, which a coroutine frame destroyed at exit may outlive us with.
  std::shared_ptr<std::optional<std::chrono::steady_clock::time_point>> busy_since_ =
      std::make_shared<std::optional<std::chrono::steady_clock::time_point>>();
  std::optional<std::string> abandoned_;
  // Set when notifications()' quiet time ran out and cancelled the wait for the socket.
  bool quiet_over_ = false;
  // Statement text -> the name it was prepared under on this connection (cleared with it).
  std::unordered_map<std::string, std::string> prepared_;
  // Names are never reused, not even after one was dropped, and start with a prefix random to
  // this connection: behind a pooler that shares server sessions, another client's statement
  // of the same name cannot be run for ours (it fails as unknown, 26000, and is prepared anew).
  std::string prepared_prefix_;
  unsigned prepared_count_ = 0;
};

}  // namespace warden::mcp
