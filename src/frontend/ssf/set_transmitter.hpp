#pragma once

#include <chrono>
#include <map>
#include <string>

#include "frontend/db/db_pool.hpp"
#include "frontend/metrics.hpp"
#include "frontend/oauth/fetch_policy.hpp"

namespace warden::ssf {

using mcp::awaitable;

// The Shared Signals transmitter (issue 17): pushes (RFC 8935) every enabled stream's Security
// Event Tokens, signed in the database by warden.ssf_batch, in audit order, and moves the
// stream's durable cursor ('ssf.<stream_id>', warden.advance_export_cursor) only after the
// receiver accepted them (202, or any 2xx). At least once: a crash or a failed push sends the
// batch again, and the jti (the audit event id) lets the receiver drop the duplicates. A push
// the receiver refuses for good (400 with an RFC 8935 error) is logged and counted, never
// retried, so one bad SET cannot stall a stream; anything else retries with back-off per
// stream. Pushes go through the fetch policy (no redirects; loopback, private and link-local
// addresses only when allowed), so a stream's endpoint_url cannot aim warden-mcp at internal
// services.
class SetTransmitter {
 public:
  SetTransmitter(mcp::DbPool& pool, oauth::FetchOptions fetch, mcp::Metrics::Export& metrics)
      : pool_(pool), fetch_(std::move(fetch)), metrics_(metrics) {}

  awaitable<void> run();

 private:
  struct Target {
    std::string stream_id{}, endpoint_url{}, authorization{};
  };
  struct Backoff {
    std::chrono::steady_clock::time_point until{};
    std::chrono::milliseconds delay{0};
  };
  // Delivers one batch of one stream; the number of audit events passed (0: up to date).
  awaitable<std::size_t> deliver(const Target& target);

  mcp::DbPool& pool_;
  oauth::FetchOptions fetch_;
  mcp::Metrics::Export& metrics_;
  std::map<std::string, Backoff> backoff_;
};

}  // namespace warden::ssf
