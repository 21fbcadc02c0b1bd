#pragma once

#include <chrono>
#include <list>
#include <optional>

#include "frontend/base/asio.hpp"

namespace warden::mcp {

// A one-shot value one coroutine waits for and another sets (single-threaded io_context).
// A timer that never expires on its own is cancelled to wake the waiter.
template <class T>
class Pending {
 public:
  explicit Pending(const Executor& ex) : timer_(ex, asio::steady_timer::time_point::max()) {}

  // The first value wins; later ones are dropped.
  void set(T value) {
    if (set_) return;
    set_ = true;
    value_ = std::move(value);
    timer_.cancel();
  }

  // The value, or nullopt when the timeout passed first (or wake() came first).
  awaitable<std::optional<T>> wait(std::chrono::steady_clock::duration timeout) {
    co_await settle(timeout);
    co_return take();
  }

  // Waits, without taking the value, until it is set, the timeout passes or wake() is called;
  // whether it is set. One waiter at a time.
  awaitable<bool> settle(std::chrono::steady_clock::duration timeout) {
    if (!set_) {
      timer_.expires_after(timeout);
      boost::system::error_code ec;
      co_await timer_.async_wait(asio::redirect_error(use_awaitable, ec));
    }
    co_return set_;
  }
  // Ends the waiter's wait early without a value (it re-checks what it waits for).
  void wake() { timer_.cancel(); }
  bool ready() const { return set_; }
  // The value once (nullopt when none was set, or already taken).
  std::optional<T> take() {
    std::optional<T> out = std::move(value_);
    value_.reset();
    return out;
  }

 private:
  asio::steady_timer timer_;
  std::optional<T> value_;
  bool set_ = false;
};

// Wakes every waiter at once; each waiter re-checks the state it waits for.
class Broadcast {
 public:
  explicit Broadcast(Executor ex) : ex_(std::move(ex)) {}
  void notify_all() {
    for (auto* t : waiters_) t->cancel();
  }
  awaitable<void> wait(std::chrono::steady_clock::duration timeout) {
    asio::steady_timer timer(ex_);
    timer.expires_after(timeout);
    auto it = waiters_.insert(waiters_.end(), &timer);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
    waiters_.erase(it);
  }

 private:
  Executor ex_;
  std::list<asio::steady_timer*> waiters_;
};

}  // namespace warden::mcp
