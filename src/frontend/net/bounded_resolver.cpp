#include "frontend/net/bounded_resolver.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

namespace warden::mcp {

namespace {

std::atomic<int> outsider_lookups{0};
std::atomic<int> trusted_lookups{0};

// What the lookup thread hands back; shared with the waiting coroutine, which may be gone. The
// thread touches nothing else (no executor, no timer): it may outlive the io_context.
struct Shared {
  std::mutex mutex;
  bool done = false;
  Lookup result;
};

constexpr auto kPoll = std::chrono::milliseconds(20);

Lookup getaddrinfo_lookup(const std::string& host, const std::string& port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  addrinfo* list = nullptr;
  Lookup out;
  if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &list) != 0 || list == nullptr) {
    out.failure = LookupFailure::failed;
    return out;
  }
  for (addrinfo* a = list; a != nullptr; a = a->ai_next) {
    boost::asio::ip::tcp::endpoint endpoint;
    if (a->ai_addrlen > endpoint.capacity()) continue;
    std::memcpy(endpoint.data(), a->ai_addr, a->ai_addrlen);
    endpoint.resize(a->ai_addrlen);
    out.endpoints.push_back(endpoint);
  }
  ::freeaddrinfo(list);
  if (out.endpoints.empty()) out.failure = LookupFailure::failed;
  return out;
}

}  // namespace

awaitable<Lookup> resolve_bounded(std::string host, std::string port,
                                  std::chrono::milliseconds deadline, LookupPool pool) {
  auto ex = co_await asio::this_coro::executor;
  std::atomic<int>& lookups_running =
      pool == LookupPool::outsiders ? outsider_lookups : trusted_lookups;
  if (lookups_running.fetch_add(1) >= kMaxLookups) {
    lookups_running.fetch_sub(1);
    co_return Lookup{{}, LookupFailure::busy};
  }
  auto shared = std::make_shared<Shared>();
  try {
    std::atomic<int>* counter = &lookups_running;  // a global: outlives the thread
    std::thread([shared, host, port, counter] {
      Lookup result = getaddrinfo_lookup(host, port);
      counter->fetch_sub(1);
      std::lock_guard<std::mutex> lock(shared->mutex);
      shared->result = std::move(result);
      shared->done = true;
    }).detach();
  } catch (const std::system_error&) {
    lookups_running.fetch_sub(1);
    co_return Lookup{{}, LookupFailure::busy};
  }
  // Polled, not signalled: a lookup is rare (a sign-in, a new client) and 20 ms is nothing
  // next to it, and the thread never needs the executor.
  const auto until = std::chrono::steady_clock::now() + deadline;
  asio::steady_timer timer(ex);
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(shared->mutex);
      if (shared->done) co_return shared->result;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= until) co_return Lookup{{}, LookupFailure::timed_out};
    timer.expires_after(std::min<std::chrono::steady_clock::duration>(kPoll, until - now));
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
  }
}

}  // namespace warden::mcp
