#pragma once

#include <string>
#include <utility>

#include "frontend/upstream/upstream.hpp"

namespace warden::mcp {

// An upstream listed in warden.servers that this host will not run (a stdio command its
// allowlist does not admit). It lists nothing, refuses every call with `reason`, and never
// starts a process.
class RefusedUpstream : public Upstream {
 public:
  RefusedUpstream(std::string name, std::string reason)
      : name_(std::move(name)), reason_(std::move(reason)) {}

  awaitable<json> request(const std::string&, json, const ForwardContext&) override {
    throw UpstreamError("upstream " + name_ + " is refused by this gateway host: " + reason_);
    co_return json();
  }
  void shutdown() override {}
  std::optional<std::string> refusal(const std::optional<Credential>&) const override {
    return reason_;
  }

 private:
  std::string name_, reason_;
};

}  // namespace warden::mcp
