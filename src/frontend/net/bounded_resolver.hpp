#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "frontend/base/asio.hpp"

namespace warden::mcp {

// Name resolution for names an outsider chooses (a Client ID Metadata Document's host, an
// identity provider's endpoints). Asio resolves on one background thread per execution
// context, one lookup after another, and cannot abandon a lookup: a name server that never
// answers would hold every later lookup of the gateway behind it, upstream calls included.
// Here each lookup runs on its own short-lived thread, at most kMaxLookups at a time (more are
// refused at once), and the caller stops waiting after `deadline` (the thread ends when libc's
// resolver gives up; its answer is then dropped).
inline constexpr int kMaxLookups = 8;

enum class LookupFailure { busy, timed_out, failed };

struct Lookup {
  std::vector<boost::asio::ip::tcp::endpoint> endpoints;  // empty on failure
  std::optional<LookupFailure> failure;
};

awaitable<Lookup> resolve_bounded(std::string host, std::string port,
                                  std::chrono::milliseconds deadline);

}  // namespace warden::mcp
