#include "frontend/db/db_pool.hpp"

#include <algorithm>

namespace warden::mcp {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

namespace {

// Short: after a failover the new primary should be found within a second of being promoted.
constexpr milliseconds kFirstBackoff{100};
constexpr milliseconds kMaxBackoff{1000};
constexpr auto kAcquireTimeout = std::chrono::seconds(5);

}  // namespace

class DbPool::Lease {
 public:
  Lease(DbPool& pool, std::size_t index) : pool_(pool), index_(index), alive_(pool.alive_) {}
  // A frame suspended in a query when the io_context stops is destroyed with it, after the
  // pool: then there is nothing to give back.
  ~Lease() {
    if (*alive_) pool_.release(index_);
  }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  PgConnection& conn() { return *pool_.slots_[index_].conn; }

 private:
  DbPool& pool_;
  std::size_t index_;
  std::shared_ptr<bool> alive_;
};

DbPool::DbPool(const Executor& ex, const std::string& conninfo, std::size_t size,
               Settings session_settings)
    : ex_(ex), session_settings_(std::move(session_settings)), freed_(ex) {
  slots_.resize(std::max<std::size_t>(size, 1));
  for (auto& slot : slots_) slot.conn = std::make_unique<PgConnection>(ex, conninfo);
  asio::co_spawn(ex_, watch(ex_, this, alive_), asio::detached);
}

DbPool::~DbPool() {
  *alive_ = false;  // the watch ends at its next tick without touching this pool
}

awaitable<void> DbPool::watch(Executor ex, DbPool* pool, std::shared_ptr<bool> alive) {
  asio::steady_timer tick(ex);
  for (;;) {
    tick.expires_after(std::chrono::seconds(1));
    boost::system::error_code ec;
    co_await tick.async_wait(asio::redirect_error(use_awaitable, ec));
    if (!*alive) co_return;
    for (auto& slot : pool->slots_) {
      if (slot.busy && slot.conn->busy_for() > kAnswerTimeout) {
        slot.conn->abandon("the database did not answer within " +
                           std::to_string(kAnswerTimeout.count()) + " s");
      }
    }
  }
}

void DbPool::prepare_statements(bool on) {
  for (auto& slot : slots_) slot.conn->prepare_statements(on);
}

awaitable<std::size_t> DbPool::acquire() {
  auto deadline = steady_clock::now() + kAcquireTimeout;
  for (;;) {
    // Prefer a connected idle slot, so one dead connection does not fail a request needlessly.
    std::size_t best = slots_.size();
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].busy) continue;
      if (slots_[i].conn->connected()) {
        best = i;
        break;
      }
      if (best == slots_.size()) best = i;
    }
    if (best < slots_.size()) {
      slots_[best].busy = true;
      co_return best;
    }
    auto now = steady_clock::now();
    if (now >= deadline) throw DbUnavailable("all database connections are busy");
    co_await freed_.wait(deadline - now);
  }
}

void DbPool::release(std::size_t index) {
  slots_[index].busy = false;
  freed_.notify_all();
}

void DbPool::reset(const std::string& why) {
  // The next use connects at once: a backoff left from before would refuse it.
  backoff_ = milliseconds{0};
  retry_at_ = {};
  for (auto& slot : slots_) {
    if (slot.busy) {
      slot.conn->abandon(why);
    } else {
      slot.conn->close();
    }
  }
}

void DbPool::forget_idle_connections() {
  for (auto& slot : slots_) {
    if (!slot.busy) slot.conn->close();
  }
}

awaitable<void> DbPool::ensure_connected(PgConnection& conn) {
  if (conn.connected()) co_return;
  if (steady_clock::now() < retry_at_) {
    throw DbUnavailable("the database is unreachable (reconnecting)");
  }
  try {
    co_await conn.connect();
    // A decision that hangs is worse than one that fails: fail closed after a bound.
    std::vector<Param> none;
    co_await conn.query("SET statement_timeout = '15s'", none);
    // Values travel as parameters, never spliced into SQL text.
    for (const auto& [name, value] : session_settings_) {
      std::vector<Param> params{name, value};
      co_await conn.query("SELECT pg_catalog.set_config($1, $2, false)", params);
    }
    backoff_ = milliseconds{0};
  } catch (const DbUnavailable&) {
    backoff_ = std::min(kMaxBackoff, std::max(kFirstBackoff, backoff_ * 2));
    retry_at_ = steady_clock::now() + backoff_;
    throw;
  }
}

awaitable<std::vector<Row>> DbPool::query(const std::string& sql,
                                          const std::vector<Param>& params) {
  Lease lease(*this, co_await acquire());
  co_await ensure_connected(lease.conn());
  try {
    co_return co_await lease.conn().query(sql, params);
  } catch (const DbUnavailable&) {
    // The server went away: the idle connections are dead too; reopen them on next use.
    forget_idle_connections();
    throw;
  }
}

awaitable<std::vector<StatementResult>> DbPool::pipeline(const std::vector<Statement>& statements) {
  Lease lease(*this, co_await acquire());
  co_await ensure_connected(lease.conn());
  try {
    co_return co_await lease.conn().pipeline(statements);
  } catch (const DbUnavailable&) {
    forget_idle_connections();
    throw;
  }
}

awaitable<bool> DbPool::ping() {
  try {
    std::vector<Param> none;
    co_await query("SELECT 1", none);
    co_return true;
  } catch (const std::exception&) {
    co_return false;
  }
}

}  // namespace warden::mcp
