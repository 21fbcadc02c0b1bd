#pragma once

#include <algorithm>
#include <cstddef>
#include <deque>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "frontend/base/event.hpp"
#include "frontend/db/db_pool.hpp"

namespace warden::mcp {

// The outcomes of calls (warden.complete), written in batches. Every governed call ends with
// one, and under load one transaction (one durable commit) for all the completions waiting at
// that moment costs the database far less than a transaction each. No wait is added: a
// completion that finds a writer free is written at once, alone; those that arrive while every
// writer is busy go together in the next batch (at most max_batch_). A batch that fails with an
// SQL error (one bad completion rolls back all) is written again one by one, so each completion
// gets exactly the answer a query of its own would have given.
class CompletionBatch {
 public:
  static constexpr std::size_t kWriters = 2;

  CompletionBatch(Executor ex, DbPool& pool) : ex_(std::move(ex)), pool_(pool) {}

  // At most this many in one transaction (warden-mcp --completion-batch; 1: one each).
  void set_max_batch(std::size_t n) { max_batch_ = std::max<std::size_t>(n, 1); }

  // Resolves once the completion committed; throws what warden.complete raised for it
  // (DbError with its SQLSTATE) or DbUnavailable.
  awaitable<void> complete(std::string event_id, std::string status, nlohmann::json detail);

 private:
  struct Item {
    std::string event_id, status;
    nlohmann::json detail;
    std::shared_ptr<Pending<std::exception_ptr>> done;
  };

  awaitable<void> write();
  awaitable<void> write_one(Item& item);
  awaitable<void> write_together(std::vector<Item>& batch);

  Executor ex_;
  DbPool& pool_;
  std::deque<Item> queue_;
  std::size_t writers_ = 0;
  std::size_t max_batch_ = 64;
};

}  // namespace warden::mcp
