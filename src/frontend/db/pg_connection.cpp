#include "frontend/db/pg_connection.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "frontend/base/random.hpp"

namespace warden::mcp {

PgConnection::PgConnection(Executor ex, std::string conninfo)
    : ex_(std::move(ex)), conninfo_(std::move(conninfo)) {}

PgConnection::~PgConnection() {
  close();
}

namespace {

// Marks a connection busy for the length of one exchange (see PgConnection::busy_for).
class Exchange {
 public:
  using Since = std::optional<std::chrono::steady_clock::time_point>;
  explicit Exchange(std::shared_ptr<Since> since) : since_(std::move(since)) {
    if (!*since_) {
      *since_ = std::chrono::steady_clock::now();
      owner_ = true;
    }
  }
  ~Exchange() {
    if (owner_) since_->reset();
  }
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

 private:
  std::shared_ptr<Since> since_;
  bool owner_ = false;
};

}  // namespace

std::chrono::steady_clock::duration PgConnection::busy_for() const {
  if (!*busy_since_) return std::chrono::steady_clock::duration::zero();
  return std::chrono::steady_clock::now() - **busy_since_;
}

void PgConnection::abandon(std::string why) {
  abandoned_ = std::move(why);
  if (socket_) {
    boost::system::error_code ec;
    socket_->close(ec);  // ends the pending wait with operation_aborted
    socket_.reset();
  }
}

bool PgConnection::connected() const {
  return conn_ && PQstatus(conn_) == CONNECTION_OK;
}

void PgConnection::close() {
  if (socket_) {
    boost::system::error_code ec;
    socket_->close(ec);
    socket_.reset();
  }
  watched_fd_ = -1;
  prepared_.clear();
  if (conn_) {
    PQfinish(conn_);
    conn_ = nullptr;
  }
}

void PgConnection::fail(const std::string& what) {
  std::string message = what;
  if (conn_) {
    std::string detail = PQerrorMessage(conn_);
    while (!detail.empty() && (detail.back() == '\n' || detail.back() == ' ')) detail.pop_back();
    if (!detail.empty()) message += ": " + detail;
  }
  close();
  throw DbUnavailable(message);
}

void PgConnection::watch_socket() {
  int fd = PQsocket(conn_);
  if (fd < 0) fail("database connection has no socket");
  if (fd == watched_fd_ && socket_) return;
  if (socket_) {
    boost::system::error_code ec;
    socket_->close(ec);
  }
  int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) fail("cannot watch the database socket");
  socket_.emplace(ex_, copy);
  watched_fd_ = fd;
}

awaitable<void> PgConnection::wait(bool for_write) {
  watch_socket();
  boost::system::error_code ec;
  co_await socket_->async_wait(for_write ? asio::posix::descriptor_base::wait_write
                                         : asio::posix::descriptor_base::wait_read,
                               asio::redirect_error(use_awaitable, ec));
  if (abandoned_) {
    std::string why = *abandoned_;
    abandoned_.reset();
    fail(why);
  }
  if (ec == asio::error::operation_aborted && quiet_over_) co_return;  // see notifications()
  if (ec) fail("waiting for the database failed: " + ec.message());
  // The server said something: the silence the watch measures starts again.
  if (*busy_since_) *busy_since_ = std::chrono::steady_clock::now();
}

awaitable<void> PgConnection::connect() {
  close();
  abandoned_.reset();
  conn_ = PQconnectStart(conninfo_.c_str());
  if (!conn_ || PQstatus(conn_) == CONNECTION_BAD) fail("cannot connect to the database");
  for (;;) {
    PostgresPollingStatusType state = PQconnectPoll(conn_);
    if (state == PGRES_POLLING_OK) break;
    if (state == PGRES_POLLING_FAILED) fail("cannot connect to the database");
    co_await wait(state == PGRES_POLLING_WRITING);
  }
  if (PQsetnonblocking(conn_, 1) != 0) fail("cannot make the database connection non-blocking");
  watch_socket();
}

awaitable<void> PgConnection::flush() {
  for (;;) {
    int flushed = PQflush(conn_);
    if (flushed == 0) break;
    if (flushed < 0) fail("sending a query failed");
    co_await wait(true);
    if (!PQconsumeInput(conn_)) fail("reading from the database failed");
  }
}

awaitable<PGresult*> PgConnection::next_result() {
  // Reads from the socket only while libpq lacks a whole result: the rest of an answer already
  // read (a pipeline's further results) costs no system call.
  while (PQisBusy(conn_)) {
    if (!PQconsumeInput(conn_)) fail("reading from the database failed");
    if (!PQisBusy(conn_)) break;
    co_await wait(false);
  }
  co_return PQgetResult(conn_);
}

Row PgConnection::row_of(PGresult* result, int i) {
  Row row;
  int m = PQnfields(result);
  row.reserve(static_cast<std::size_t>(m));
  for (int j = 0; j < m; ++j) {
    if (PQgetisnull(result, i, j)) {
      row.emplace_back(std::nullopt);
    } else {
      row.emplace_back(std::string(PQgetvalue(result, i, j), PQgetlength(result, i, j)));
    }
  }
  return row;
}

DbError PgConnection::error_of(PGresult* result) {
  const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  const char* message = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  const char* source = PQresultErrorField(result, PG_DIAG_SOURCE_FUNCTION);
  return DbError(state ? state : "XX000", message ? message : PQresultErrorMessage(result),
                 source ? source : "");
}

namespace {

// Connection-class errors (08xxx) and shutdowns (57Pxx) mean nothing was decided. So does
// 25006 (read-only transaction): the server is a standby now (after a failover or switchover),
// and a new connection (target_session_attrs=read-write) finds the primary.
bool connection_lost(const DbError& e) {
  return e.sqlstate().rfind("08", 0) == 0 || e.sqlstate().rfind("57P", 0) == 0 ||
         e.sqlstate() == "25006";
}

// Every statement text warden-mcp runs is a constant of its code (values travel as
// parameters), so the prepared statements of a connection are few; the bound is a safety net.
constexpr std::size_t kMaxPrepared = 64;

}  // namespace

awaitable<const std::string*> PgConnection::prepared(const std::string& sql) {
  if (!prepare_ || sql.rfind("SELECT ", 0) != 0) co_return nullptr;
  if (auto found = prepared_.find(sql); found != prepared_.end()) co_return &found->second;
  if (prepared_.size() >= kMaxPrepared) co_return nullptr;
  if (prepared_prefix_.empty()) prepared_prefix_ = "warden_" + random_hex(6) + "_";
  std::string name = prepared_prefix_ + std::to_string(++prepared_count_);
  if (!PQsendPrepare(conn_, name.c_str(), sql.c_str(), 0, nullptr)) fail("sending a query failed");
  co_await flush();
  std::optional<DbError> error;
  for (;;) {
    PGresult* result = co_await next_result();
    if (!result) break;
    if (PQresultStatus(result) != PGRES_COMMAND_OK && !error) error.emplace(error_of(result));
    PQclear(result);
  }
  if (PQstatus(conn_) != CONNECTION_OK) fail("the database connection was lost");
  if (error) {
    if (connection_lost(*error)) fail(error->what());
    throw *error;
  }
  co_return &prepared_.emplace(sql, std::move(name)).first->second;
}

awaitable<std::vector<Row>> PgConnection::query(const std::string& sql,
                                                const std::vector<Param>& params) {
  return run(sql, params, true);
}

awaitable<std::vector<Row>> PgConnection::run(const std::string& sql,
                                              const std::vector<Param>& params,
                                              bool again_if_stale) {
  if (!connected()) fail("not connected to the database");
  Exchange exchange(busy_since_);
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  const std::string* name = co_await prepared(sql);
  const int sent = name ? PQsendQueryPrepared(conn_, name->c_str(), static_cast<int>(values.size()),
                                              values.data(), nullptr, nullptr, 0)
                        : PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(values.size()),
                                            nullptr, values.data(), nullptr, nullptr, 0);
  if (!sent) fail("sending a query failed");
  co_await flush();
  std::vector<Row> rows;
  std::optional<DbError> error;
  for (;;) {
    PGresult* result = co_await next_result();
    if (!result) break;
    ExecStatusType status = PQresultStatus(result);
    if (status == PGRES_TUPLES_OK) {
      for (int i = 0, n = PQntuples(result); i < n; ++i) rows.push_back(row_of(result, i));
    } else if (status != PGRES_COMMAND_OK && !error) {
      error.emplace(error_of(result));
    }
    PQclear(result);
  }
  if (PQstatus(conn_) != CONNECTION_OK) fail("the database connection was lost");
  if (error) {
    if (connection_lost(*error)) fail(error->what());
    if (name && error->stale_plan() && again_if_stale) {
      // Prepared anew (under a new name: the old one stays taken on the server) and run once
      // more.
      prepared_.erase(sql);
      co_return co_await run(sql, params, false);
    }
    throw *error;
  }
  co_return rows;
}

awaitable<std::vector<StatementResult>> PgConnection::pipeline(
    const std::vector<Statement>& statements) {
  if (!connected()) fail("not connected to the database");
  Exchange exchange(busy_since_);
  // Prepared before the pipeline starts (a round trip only the first time on this connection).
  std::vector<const std::string*> names;
  names.reserve(statements.size());
  for (const auto& statement : statements) names.push_back(co_await prepared(statement.sql));
  if (!PQenterPipelineMode(conn_)) fail("cannot enter pipeline mode");
  for (std::size_t i = 0; i < statements.size(); ++i) {
    const Statement& statement = statements[i];
    std::vector<const char*> values;
    values.reserve(statement.params.size());
    for (const auto& p : statement.params) values.push_back(p ? p->c_str() : nullptr);
    const int sent =
        names[i] ? PQsendQueryPrepared(conn_, names[i]->c_str(), static_cast<int>(values.size()),
                                       values.data(), nullptr, nullptr, 0)
                 : PQsendQueryParams(conn_, statement.sql.c_str(), static_cast<int>(values.size()),
                                     nullptr, values.data(), nullptr, nullptr, 0);
    if (!sent) fail("sending a pipeline failed");
    if (!statement.joins_next || i + 1 == statements.size()) {
      if (!PQpipelineSync(conn_)) fail("sending a pipeline failed");
    }
  }
  co_await flush();
  // Per statement: its results and a nullptr; per transaction (up to a sync), then the sync's
  // PGRES_PIPELINE_SYNC. What a statement came to is known only at its transaction's sync.
  std::vector<StatementResult> out;
  out.reserve(statements.size());
  // The transaction being read: its statements [out.size(), last], the one whose results come
  // now, and what each came to so far. An error after the last one's end is the commit's.
  auto last_of = [&statements](std::size_t first) {
    std::size_t last = first;
    while (last + 1 < statements.size() && statements[last].joins_next) ++last;
    return last;
  };
  std::size_t last = last_of(0);
  std::size_t current = 0;
  std::vector<std::vector<Row>> rows(last + 1);
  std::vector<std::optional<DbError>> errors(last + 1);
  std::optional<DbError> commit_error;
  while (out.size() < statements.size()) {
    PGresult* result = co_await next_result();
    if (!result) {  // the end of one statement's results
      ++current;
      continue;
    }
    ExecStatusType status = PQresultStatus(result);
    const std::size_t slot = current - out.size();
    if (status == PGRES_PIPELINE_SYNC) {
      // A sync before every statement of its transaction ended: not what libpq promises, and
      // reading on could call a statement that never ran a success.
      if (current <= last) {
        PQclear(result);
        fail("the database's answers to a pipeline came out of order");
      }
      std::optional<std::size_t> failed;
      for (std::size_t k = 0; k < errors.size() && !failed; ++k) {
        if (errors[k]) failed = k;
      }
      const std::size_t first = out.size();
      for (std::size_t k = 0; k < rows.size(); ++k) {
        if (errors[k]) {
          out.emplace_back(std::move(*errors[k]));
        } else if (commit_error) {
          out.emplace_back(*commit_error);
        } else if (failed) {
          out.emplace_back(DbError("25P02", "rolled back: statement " +
                                                std::to_string(first + *failed + 1) +
                                                " of its transaction failed"));
        } else {
          out.emplace_back(std::move(rows[k]));
        }
      }
      current = out.size();
      if (current < statements.size()) last = last_of(current);
      rows.assign(last + 1 - current, {});
      errors.assign(last + 1 - current, std::nullopt);
      commit_error.reset();
    } else if (current > last) {
      if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && !commit_error) {
        commit_error.emplace(error_of(result));
      }
    } else if (status == PGRES_TUPLES_OK) {
      for (int i = 0, n = PQntuples(result); i < n; ++i) rows[slot].push_back(row_of(result, i));
    } else if (status == PGRES_PIPELINE_ABORTED) {
      if (!errors[slot])
        errors[slot].emplace("25P02", "skipped: an earlier statement of its transaction failed");
    } else if (status != PGRES_COMMAND_OK && !errors[slot]) {
      errors[slot].emplace(error_of(result));
    }
    PQclear(result);
    if (PQstatus(conn_) != CONNECTION_OK) fail("the database connection was lost");
  }
  if (!PQexitPipelineMode(conn_)) fail("cannot leave pipeline mode");
  for (std::size_t i = 0; i < out.size(); ++i) {
    const DbError* e = std::get_if<DbError>(&out[i]);
    if (e && connection_lost(*e)) fail(e->what());
    // Not re-run here (the statements after it ran already): prepared anew next time.
    if (e && names[i] && e->stale_plan()) prepared_.erase(statements[i].sql);
  }
  co_return out;
}

awaitable<std::vector<std::string>> PgConnection::notifications(
    std::chrono::steady_clock::duration quiet) {
  std::vector<std::string> payloads;
  // When `quiet` passes, the timer cancels the wait for the socket, which then ends normally.
  // The handler touches nothing once cancelled: the timer is cancelled (and its handler run
  // with an error) when this frame ends, even if that is at teardown.
  asio::steady_timer timer(ex_);
  timer.expires_after(quiet);
  quiet_over_ = false;
  timer.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    quiet_over_ = true;
    if (socket_) {
      boost::system::error_code ignored;
      socket_->cancel(ignored);
    }
  });
  for (;;) {
    if (!connected()) fail("not connected to the database");
    if (!PQconsumeInput(conn_)) fail("reading from the database failed");
    while (PGnotify* n = PQnotifies(conn_)) {
      payloads.emplace_back(n->extra ? n->extra : "");
      PQfreemem(n);
    }
    if (!payloads.empty() || quiet_over_) break;
    co_await wait(false);
  }
  timer.cancel();
  quiet_over_ = false;
  co_return payloads;
}

}  // namespace warden::mcp
