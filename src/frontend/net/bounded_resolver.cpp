#include "frontend/net/bounded_resolver.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

#include <boost/asio/post.hpp>

namespace warden::mcp {

namespace {

std::atomic<int> lookups_running{0};

// What the lookup thread hands back; shared with the waiting coroutine, which may be gone.
struct Shared {
  std::mutex mutex;
  bool done = false;
  Lookup result;
  std::shared_ptr<asio::steady_timer> wake;  // cancelled when the result is in
};

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
                                  std::chrono::milliseconds deadline) {
  auto ex = co_await asio::this_coro::executor;
  if (lookups_running.fetch_add(1) >= kMaxLookups) {
    lookups_running.fetch_sub(1);
    co_return Lookup{{}, LookupFailure::busy};
  }
  auto shared = std::make_shared<Shared>();
  shared->wake = std::make_shared<asio::steady_timer>(ex, deadline);
  try {
    std::thread([shared, host, port, ex]() mutable {
      Lookup result = getaddrinfo_lookup(host, port);
      lookups_running.fetch_sub(1);
      {
        std::lock_guard<std::mutex> lock(shared->mutex);
        shared->result = std::move(result);
        shared->done = true;
      }
      // The timer belongs to the coroutine's executor: cancel it there, not from this thread.
      asio::post(ex, [shared] { shared->wake->cancel(); });
    }).detach();
  } catch (const std::system_error&) {
    lookups_running.fetch_sub(1);
    co_return Lookup{{}, LookupFailure::busy};
  }
  boost::system::error_code ec;
  co_await shared->wake->async_wait(asio::redirect_error(use_awaitable, ec));
  std::lock_guard<std::mutex> lock(shared->mutex);
  if (!shared->done) co_return Lookup{{}, LookupFailure::timed_out};
  co_return shared->result;
}

}  // namespace warden::mcp
