#include "frontend/ssf/refusal_limiter.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cmath>
#include <utility>

namespace warden::ssf {

RefusalLimiter::RefusalLimiter(double burst, double per_second, std::size_t max_addresses,
                               double all_burst, double all_per_second)
    : burst_(std::max(burst, 1.0)),
      per_second_(std::max(per_second, 0.001)),
      max_addresses_(std::max<std::size_t>(max_addresses, 1)),
      all_burst_(std::max(all_burst, 1.0)),
      all_per_second_(std::max(all_per_second, 0.001)),
      all_{all_burst_, Clock::now(), 0} {}

std::string RefusalLimiter::network_of(std::string_view address) {
  std::string text(address);
  unsigned char bytes[16];
  if (text.find(':') == std::string::npos || inet_pton(AF_INET6, text.c_str(), bytes) != 1) {
    return text;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 8; ++i) {
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 15];
    if (i % 2 == 1) out += ':';
  }
  return out + ":/64";
}

double RefusalLimiter::level(const Bucket& b, Clock::time_point now) const {
  const double elapsed = std::chrono::duration<double>(now - b.at).count();
  return std::min(burst_, b.tokens + std::max(elapsed, 0.0) * per_second_);
}

void RefusalLimiter::forget_full(Clock::time_point now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    const bool idle = level(it->second, now) >= burst_ && it->second.suppressed == 0;
    it = idle ? buckets_.erase(it) : std::next(it);
  }
  // Still full of busy addresses: forgetting one gives it a fresh bucket, which is the price
  // of a bounded map (a distributed flood is bounded by the listener's connection limits).
  while (buckets_.size() >= max_addresses_) buckets_.erase(buckets_.begin());
}

bool RefusalLimiter::try_refuse(std::string_view address, Clock::time_point now) {
  const std::string key = network_of(address);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_addresses_) forget_full(now);
    it = buckets_.emplace(key, Bucket{burst_, now}).first;
  }
  Bucket& b = it->second;
  b.tokens = level(b, now);
  b.at = now;
  const double elapsed = std::chrono::duration<double>(now - all_.at).count();
  all_.tokens = std::min(all_burst_, all_.tokens + std::max(elapsed, 0.0) * all_per_second_);
  all_.at = now;
  if (b.tokens < 1 || all_.tokens < 1) {
    ++b.suppressed;
    return false;
  }
  b.tokens -= 1;
  all_.tokens -= 1;
  return true;
}

long RefusalLimiter::retry_after(std::string_view address, Clock::time_point now) const {
  auto it = buckets_.find(network_of(address));
  if (it == buckets_.end()) return 1;
  const double missing = 1 - level(it->second, now);
  return std::max(1L, static_cast<long>(std::ceil(missing / per_second_)));
}

std::uint64_t RefusalLimiter::take_suppressed(std::string_view address) {
  auto it = buckets_.find(network_of(address));
  if (it == buckets_.end()) return 0;
  return std::exchange(it->second.suppressed, 0);
}

}  // namespace warden::ssf
