#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace warden::oauth {

// Decides when an IdP's JWKS may be fetched again after an unknown kid: at most once per
// `min_interval` per issuer, so a stream of tokens with made-up kids cannot make warden-mcp
// hammer the IdP. Remembers at most `max_issuers` issuers (the oldest attempt is forgotten
// first). Thread-safe.
class JwksRefreshLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  explicit JwksRefreshLimiter(std::chrono::seconds min_interval = std::chrono::seconds(30),
                              size_t max_issuers = 256);

  // True (and the attempt recorded) when `issuer`'s JWKS may be fetched at `now`.
  bool try_acquire(std::string_view issuer, Clock::time_point now = Clock::now());

 private:
  std::chrono::seconds min_interval_;
  size_t max_issuers_;
  std::mutex mutex_;
  std::map<std::string, Clock::time_point, std::less<>> last_attempt_;
};

}  // namespace warden::oauth
