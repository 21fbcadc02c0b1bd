#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "frontend/db/decisions.hpp"
#include "frontend/upstream/stdio_upstream.hpp"
#include "frontend/upstream/upstream.hpp"

namespace warden::mcp {

// How many agents may hold their own session (stdio: their own child process) with one
// upstream at once, and how long an unused one is kept.
struct UpstreamSharing {
  std::size_t max_agents_per_upstream = 16;
  std::chrono::seconds idle = std::chrono::seconds(300);
};

// The upstream servers by name, as warden.upstreams() lists them. An upstream session is never
// shared between agents: each agent gets its own instance of each upstream (an MCP session of
// its own over HTTP, a child process of its own over stdio), opened on first use and shut down
// once idle. Reloading keeps the instances of an upstream whose definition did not change and
// shuts down the ones removed or changed. A stdio upstream whose command this host's policy
// does not admit is kept as refused: its calls are denied, and nothing is started.
class Upstreams {
 public:
  Upstreams(Executor ex, StdioPolicy stdio, UpstreamSharing sharing = {})
      : ex_(std::move(ex)), stdio_(std::move(stdio)), sharing_(sharing) {}

  void reload(const std::vector<UpstreamRow>& rows);
  // The agent's own instance of the upstream, opened if needed; nullptr for an unknown name.
  // Throws UpstreamError when the upstream already serves its maximum of agents.
  std::shared_ptr<Upstream> find(const std::string& name, const std::string& agent);
  bool has(const std::string& name) const { return entries_.count(name) != 0; }
  // Why this host would not forward the agent's call to the upstream, known before any
  // decision: a refusal (Upstream::refusal for a call credentialed as `credential_kind`) or no
  // room for another agent's session. nullopt when a call would go ahead (or the name is
  // unknown). The gateway asks this first, so a call this host refuses never has a credential
  // vended for it; find() and Upstream::refusal still decide, after the decision.
  std::optional<std::string> refusal_before_decision(const std::string& name,
                                                     const std::string& agent,
                                                     const std::string& credential_kind) const;
  // Instances open now (all upstreams, all agents), for tests and metrics.
  std::size_t open_instances() const;
  // How calls to the upstream are credentialed ("none", "secret", "jwt", "paseto"); "none"
  // for an unknown name.
  std::string credential_kind(const std::string& name) const;
  std::vector<std::string> names() const;

 private:
  struct Instance {
    std::shared_ptr<Upstream> upstream;
    std::chrono::steady_clock::time_point last_used;
  };
  struct Entry {
    UpstreamRow row;
    std::shared_ptr<Upstream> refused;       // set when this host will not run it at all
    std::shared_ptr<Upstream> rules;         // an unopened instance: answers refusal() only
    std::map<std::string, Instance> agents;  // agent -> its own instance
  };
  std::shared_ptr<Upstream> make(const UpstreamRow& row) const;
  std::shared_ptr<Upstream> make_stdio(const UpstreamRow& row) const;
  void reap_idle(std::chrono::steady_clock::time_point now);
  static void shut_down(std::map<std::string, Instance>& agents);

  Executor ex_;
  StdioPolicy stdio_;
  UpstreamSharing sharing_;
  std::map<std::string, Entry> entries_;
};

}  // namespace warden::mcp
