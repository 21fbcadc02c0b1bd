#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "frontend/base/asio.hpp"

namespace warden::mcp {

// Name resolution for the OAuth fetches (a Client ID Metadata Document's host, an identity
// provider's endpoints). Asio resolves on one background thread per execution context, one
// lookup after another, and cannot abandon a lookup: a name server that never answers would
// hold every later lookup of the gateway behind it, upstream calls included. Here each lookup
// runs on its own short-lived thread, at most kMaxLookups at a time per pool (more are refused
// at once), and the caller stops waiting after `deadline` (the thread ends when libc's resolver
// gives up; its answer is then dropped). Names anyone can choose (client_id URLs) have their
// own pool, so they cannot take the threads the identity provider's lookups need.
inline constexpr int kMaxLookups = 8;

enum class LookupPool { outsiders, trusted };

enum class LookupFailure { busy, timed_out, failed };

struct Lookup {
  std::vector<boost::asio::ip::tcp::endpoint> endpoints;  // empty on failure
  std::optional<LookupFailure> failure;
};

awaitable<Lookup> resolve_bounded(std::string host, std::string port,
                                  std::chrono::milliseconds deadline, LookupPool pool);

}  // namespace warden::mcp
