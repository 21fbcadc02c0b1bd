#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace warden::ssf {

// How many refused SETs each remote address may have audited: a token bucket per address
// (`burst` refusals at once, then `per_second`). /ssf/receive takes unauthenticated POSTs, and
// every refusal writes an ssf_set_refused audit row; past the bucket a refusal is answered 429
// without touching the database, so a flood cannot grow the audit trail. Only refusals spend
// tokens: a SET that verifies is never limited here. Remembers at most `max_addresses`
// addresses (full buckets with nothing left to report are forgotten first), and all addresses
// together share one more bucket. One io_context thread
// uses it: no lock.
class RefusalLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  explicit RefusalLimiter(double burst = 30, double per_second = 1,
                          std::size_t max_addresses = 4096, double all_burst = 120,
                          double all_per_second = 5);

  // The bucket an address is counted in: an IPv4 address itself, an IPv6 address its /64 (one
  // subscriber's network: rotating addresses inside it earns no fresh bucket).
  static std::string network_of(std::string_view address);

  // True (and a token spent) when a refusal from `address` may be audited at `now`.
  bool try_refuse(std::string_view address, Clock::time_point now = Clock::now());
  // Whole seconds until `address` has a token again (at least 1), for Retry-After.
  long retry_after(std::string_view address, Clock::time_point now = Clock::now()) const;
  // The refusals of `address` answered 429 since the last call, and zero again: the next
  // audited refusal carries the count, so a flood leaves one summarising row a second.
  std::uint64_t take_suppressed(std::string_view address);

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point at{};
    std::uint64_t suppressed = 0;
  };
  double level(const Bucket& b, Clock::time_point now) const;
  void forget_full(Clock::time_point now);

  double burst_;
  double per_second_;
  std::size_t max_addresses_;
  // Every address together: a flood spread over many addresses still audits at most
  // all_per_second refusals a second (after all_burst).
  double all_burst_;
  double all_per_second_;
  Bucket all_{};
  std::map<std::string, Bucket, std::less<>> buckets_;
};

}  // namespace warden::ssf
