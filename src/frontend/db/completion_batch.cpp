#include "frontend/db/completion_batch.hpp"

#include <chrono>
#include <optional>

#include "frontend/mcp/json_rpc.hpp"

namespace warden::mcp {

namespace {

// Invalid UTF-8 from an upstream is written as U+FFFD rather than throwing.
std::string text_of(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Many outcomes in one statement, from one parameter: a JSON array of [event_id, status,
// detail]. No SQL text is built from values.
const char* const kTogether =
    "SELECT count(warden.complete((r->>0)::uuid, r->>1, r->2)) "
    "FROM jsonb_array_elements($1::jsonb) AS r";

}  // namespace

awaitable<void> CompletionBatch::complete(std::string event_id, std::string status,
                                          nlohmann::json detail, bool may_ride) {
  // jsonb has no place for U+0000 and refuses the whole document: an upstream (or an agent, in
  // an error it returns) could otherwise keep its own call's outcome out of the audit trail, and
  // roll back every other outcome of the batch with it.
  if (holds_nul(detail)) replace_nul(detail);
  auto done = std::make_shared<Pending<std::exception_ptr>>(ex_);
  std::string text = text_of(detail);
  const bool small = text.size() <= kRideItemBytes;
  queue_.push_back(
      Item{std::move(event_id), std::move(status), std::move(text), may_ride && small, done});
  // No wait for what cannot ride (a retry, a large detail), nor once a batch is full.
  if (linger_.count() == 0 || queue_.size() >= max_batch_ || !queue_.back().may_ride) {
    wake_writer();
  } else if (!lingering_) {
    // One timer for all that wait: when it fires, a writer takes whatever no decision took.
    lingering_ = true;
    linger_timer_.expires_after(linger_);
    linger_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;  // cancelled: at teardown, when `this` may be gone
      lingering_ = false;
      if (!queue_.empty()) wake_writer();
    });
  }
  // Pending needs a timeout: far beyond any query's (the pool's queries end on their own).
  std::optional<std::exception_ptr> outcome = co_await done->wait(std::chrono::hours(24));
  if (!outcome) throw DbUnavailable("the completion was never written");
  if (*outcome) std::rethrow_exception(*outcome);
}

std::string CompletionBatch::together(const std::vector<Item>& items) {
  // [[event_id, status, detail], ...], the details spliced in as the JSON text they already are.
  std::string rows = "[";
  for (const Item& item : items) {
    if (rows.size() > 1) rows += ',';
    rows += '[';
    rows += text_of(nlohmann::json(item.event_id));
    rows += ',';
    rows += text_of(nlohmann::json(item.status));
    rows += ',';
    rows += item.detail;
    rows += ']';
  }
  rows += ']';
  return rows;
}

CompletionBatch::Ride::~Ride() {
  if (items_.empty()) return;
  auto unavailable = std::make_exception_ptr(DbUnavailable("the outcome's ride ended unknown"));
  for (Item& item : items_) item.done->set(unavailable);
}

void CompletionBatch::wake_writer() {
  if (writers_ < kWriters) {
    ++writers_;
    asio::co_spawn(ex_, write(), asio::detached);
  }
}

Statement CompletionBatch::Ride::statement() const {
  // Ends the decision's transaction (the decision joins the ride, not the ride what follows):
  // warden.credential_for_last_decision behind it must run after the commit, in a transaction
  // of its own, or it refuses the decision as not committed and the whole ride rolls back.
  return Statement{kTogether, {together(items_)}};
}

CompletionBatch::Ride CompletionBatch::board() {
  Ride ride;
  if (linger_.count() == 0) return ride;
  std::size_t bytes = 0;
  for (auto it = queue_.begin(); it != queue_.end() && ride.items_.size() < max_batch_;) {
    if (!it->may_ride || bytes + it->detail.size() > kRideBytes) {
      ++it;
      continue;
    }
    bytes += it->detail.size();
    ride.items_.push_back(std::move(*it));
    it = queue_.erase(it);
  }
  return ride;
}

void CompletionBatch::committed(Ride& ride) {
  for (Item& item : ride.items_) item.done->set(nullptr);
  ride.items_.clear();
}

void CompletionBatch::unknown(Ride& ride, const std::exception_ptr& unavailable) {
  for (Item& item : ride.items_) item.done->set(unavailable);
  ride.items_.clear();
}

void CompletionBatch::rolled_back(Ride& ride) {
  if (ride.items_.empty()) return;
  asio::co_spawn(ex_, write_each_alone(std::move(ride.items_)), asio::detached);
  ride.items_.clear();
}

awaitable<void> CompletionBatch::write_each_alone(std::vector<Item> items) {
  for (Item& item : items) co_await write_one(item);
}

// A writer takes whatever is queued, writes it, and goes on until the queue is empty. Neither
// write_one nor write_together lets an exception out, so the count of writers stays true.
awaitable<void> CompletionBatch::write() {
  while (!queue_.empty()) {
    std::vector<Item> batch;
    while (!queue_.empty() && batch.size() < max_batch_) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    if (batch.size() == 1) {
      co_await write_one(batch.front());
    } else {
      co_await write_together(batch);
    }
  }
  --writers_;
}

awaitable<void> CompletionBatch::write_one(Item& item) {
  std::exception_ptr failure;
  try {
    std::vector<Param> params{item.event_id, item.status, item.detail};
    co_await pool_.query("SELECT warden.complete($1::uuid, $2, $3::jsonb)", params);
  } catch (...) {
    failure = std::current_exception();
  }
  item.done->set(failure);
}

awaitable<void> CompletionBatch::write_together(std::vector<Item>& batch) {
  std::exception_ptr unavailable;
  bool each_alone = false;
  try {
    std::vector<Param> params{together(batch)};
    co_await pool_.query(kTogether, params);
  } catch (const DbUnavailable&) {
    unavailable = std::current_exception();
  } catch (...) {
    // An SQL error (one outcome spoils the batch) or anything else: each alone gets its own.
    each_alone = true;
  }
  if (!each_alone) {
    // Committed for all, or unknown for all (the caller retries each: a retry that finds its
    // completion already there is told so by warden.complete, SQLSTATE 55000).
    for (Item& item : batch) item.done->set(unavailable);
    co_return;
  }
  for (Item& item : batch) co_await write_one(item);
}

}  // namespace warden::mcp
