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

}  // namespace

awaitable<void> CompletionBatch::complete(std::string event_id, std::string status,
                                          nlohmann::json detail) {
  // jsonb has no place for U+0000 and refuses the whole document: an upstream (or an agent, in
  // an error it returns) could otherwise keep its own call's outcome out of the audit trail, and
  // roll back every other outcome of the batch with it.
  if (holds_nul(detail)) replace_nul(detail);
  auto done = std::make_shared<Pending<std::exception_ptr>>(ex_);
  queue_.push_back(Item{std::move(event_id), std::move(status), std::move(detail), done});
  if (writers_ < kWriters) {
    ++writers_;
    asio::co_spawn(ex_, write(), asio::detached);
  }
  // Pending needs a timeout: far beyond any query's (the pool's queries end on their own).
  std::optional<std::exception_ptr> outcome = co_await done->wait(std::chrono::hours(24));
  if (!outcome) throw DbUnavailable("the completion was never written");
  if (*outcome) std::rethrow_exception(*outcome);
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
    std::vector<Param> params{item.event_id, item.status, text_of(item.detail)};
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
    // One parameter, a JSON array of [event_id, status, detail]: no SQL text is built from
    // values.
    nlohmann::json rows = nlohmann::json::array();
    for (const Item& item : batch) {
      rows.push_back(nlohmann::json::array({item.event_id, item.status, item.detail}));
    }
    std::vector<Param> params{text_of(rows)};
    co_await pool_.query(
        "SELECT count(warden.complete((r->>0)::uuid, r->>1, r->2)) "
        "FROM jsonb_array_elements($1::jsonb) AS r",
        params);
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
