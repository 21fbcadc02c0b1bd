#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "frontend/net/sse_stream.hpp"
#include "frontend/upstream/upstream.hpp"

namespace warden::mcp {

// How the gateway reaches the agent while one of its requests runs (the request's own event
// stream, or stdout for stdio); null when it cannot.
using ToClient = std::function<void(const json& message)>;

// The ways back to the agents of open sessions: each session's standalone stream (GET /mcp)
// and the upstream requests (sampling, elicitation, roots) relayed to it and not answered yet.
// A relayed request gets an id of its own, so that agents never see (or answer) another
// session's request, and the answer goes back to the upstream that asked, under its own id.
class SessionChannels {
 public:
  // The session's standalone stream; a new one replaces (ends) the previous one.
  void attach(const std::string& session, std::shared_ptr<SseStream> stream);
  // Sends on the session's standalone stream; false when it has none open.
  bool send_standalone(const std::string& session, const json& message);
  bool has_standalone(const std::string& session) const;

  // At most this many upstream requests wait for one session's agent at a time.
  static constexpr std::size_t kMaxWaitingPerSession = 64;

  // Registers an upstream request sent to the agent of `session`: returns the request to send
  // (the upstream's message under a fresh id). With kMaxWaitingPerSession already waiting for
  // that agent (it does not answer, and an upstream goes on asking), the upstream is answered
  // with an error at once and nullopt is returned: nothing is sent or kept. `bounded` false:
  // the gateway's own request (the approval page's URL elicitation), which upstreams cannot
  // crowd out and which does not count.
  std::optional<json> relay_request(const std::string& session, const json& request, Answer answer,
                                    bool bounded = true);
  // The relayed request could not be sent (the session's stream has ended): the upstream is
  // answered with an error now instead of waiting for an answer that cannot come.
  void withdraw(const std::string& relayed_id);
  // The agent of `session` answered `response`: sends it back to the upstream that asked.
  // False when no such request is waiting for this session.
  bool deliver(const std::string& session, const json& response);

  // The session ended: ends its stream, refuses what it was asked and did not answer.
  void forget(const std::string& session);

 private:
  struct Waiting {
    std::string session;
    json upstream_id;
    Answer answer;
    bool bounded = true;
  };
  std::map<std::string, std::shared_ptr<SseStream>> streams_;
  // One request of `session` is no longer waiting.
  void answered(const std::string& session);

  std::map<std::string, Waiting> waiting_;  // relayed id -> where the answer goes
  std::map<std::string, std::size_t> waiting_per_session_;
  std::uint64_t next_ = 1;
};

}  // namespace warden::mcp
