#pragma once

#include <algorithm>
#include <chrono>
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
//
// Cheaper still is no transaction of their own: a decision about to be sent takes the outcomes
// waiting (board) and runs them in its own transaction, one commit for both (see
// Decisions::decide). To give a decision the chance, an outcome that finds a writer free waits
// up to the linger (warden-mcp --completion-linger-ms) before a writer takes it. A lone agent's
// next call usually comes well within that, so each of its calls costs one commit, not two.
class CompletionBatch {
 private:
  struct Item {
    std::string event_id, status;
    std::string detail;  // the JSON text, serialized once
    bool may_ride = true;
    std::shared_ptr<Pending<std::exception_ptr>> done;
  };

 public:
  static constexpr std::size_t kWriters = 2;

  CompletionBatch(const Executor& ex, DbPool& pool) : ex_(ex), pool_(pool), linger_timer_(ex) {}

  // At most this many in one transaction (warden-mcp --completion-batch; 1: one each).
  void set_max_batch(std::size_t n) { max_batch_ = std::max<std::size_t>(n, 1); }
  // How long an outcome waits for a decision to carry it before a writer takes it; zero: a
  // free writer takes it at once, and decisions carry none (as before 0.2.0).
  void set_linger(std::chrono::microseconds linger) { linger_ = linger; }

  // Resolves once the completion committed; throws what warden.complete raised for it
  // (DbError with its SQLSTATE) or DbUnavailable. A retry (may_ride false) never rides: it may
  // meet its own first attempt (55000, or that attempt's row lock), which must not cost
  // another agent's decision anything.
  awaitable<void> complete(std::string event_id, std::string status, nlohmann::json detail,
                           bool may_ride = true);

  // What may ride with one decision: an outcome whose detail is larger (an upstream's long
  // error message) is written by a writer instead, and a ride stops at kRideBytes, so that no
  // agent's outcomes can make another agent's decision slow or too large to send.
  static constexpr std::size_t kRideItemBytes = 16 * 1024;
  static constexpr std::size_t kRideBytes = 256 * 1024;

  // Outcomes taken to ride in a decision's transaction, and how that transaction ended: each
  // is told exactly once, by committed, unknown or rolled_back.
  class Ride {
   public:
    Ride() = default;
    Ride(Ride&&) = default;
    Ride& operator=(Ride&&) = delete;
    Ride(const Ride&) = delete;
    Ride& operator=(const Ride&) = delete;
    // An outcome never told how its ride ended (an exception no path expected) is told the
    // database was unavailable, so that its caller retries rather than waits for ever.
    ~Ride();
    bool empty() const { return items_.empty(); }
    // warden.complete for each, to run in the decision's transaction (the decision joins
    // it) and end that transaction.
    Statement statement() const;

   private:
    friend class CompletionBatch;
    std::vector<Item> items_;
  };
  // Up to the batch bound (and kRideBytes) of the outcomes waiting now that may ride; none
  // when none waits or the linger is zero.
  Ride board();
  // The decision's transaction committed: so did every outcome of the ride.
  void committed(Ride& ride);
  // The connection broke before the answer: each outcome gets `unavailable` (its caller
  // retries; a retry of one that had committed is told so, SQLSTATE 55000).
  void unknown(Ride& ride, const std::exception_ptr& unavailable);
  // The transaction rolled back (an error in the decision or in an outcome): each outcome is
  // written again alone and gets the answer it would have had.
  void rolled_back(Ride& ride);

 private:
  void wake_writer();
  // The one parameter of a statement writing many: a JSON array of [event_id, status, detail].
  static std::string together(const std::vector<Item>& items);

  awaitable<void> write();
  awaitable<void> write_one(Item& item);
  awaitable<void> write_together(std::vector<Item>& batch);
  awaitable<void> write_each_alone(std::vector<Item> items);

  Executor ex_;
  DbPool& pool_;
  std::deque<Item> queue_;
  std::size_t writers_ = 0;
  std::size_t max_batch_ = 64;
  std::chrono::microseconds linger_{0};
  asio::steady_timer linger_timer_;
  bool lingering_ = false;
};

}  // namespace warden::mcp
