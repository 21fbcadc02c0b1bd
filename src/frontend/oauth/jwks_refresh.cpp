#include "frontend/oauth/jwks_refresh.hpp"

#include <algorithm>

namespace warden::oauth {

JwksRefreshLimiter::JwksRefreshLimiter(std::chrono::seconds min_interval, size_t max_issuers)
    : min_interval_(min_interval), max_issuers_(std::max<size_t>(max_issuers, 1)) {}

bool JwksRefreshLimiter::try_acquire(std::string_view issuer, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (auto it = last_attempt_.find(issuer); it != last_attempt_.end()) {
    if (now - it->second < min_interval_) return false;
    it->second = now;
    return true;
  }
  if (last_attempt_.size() >= max_issuers_) {
    auto oldest =
        std::min_element(last_attempt_.begin(), last_attempt_.end(),
                         [](const auto& a, const auto& b) { return a.second < b.second; });
    last_attempt_.erase(oldest);
  }
  last_attempt_.emplace(std::string(issuer), now);
  return true;
}

}  // namespace warden::oauth
