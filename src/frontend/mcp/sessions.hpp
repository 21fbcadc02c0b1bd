#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace warden::mcp {

// An MCP session over HTTP, bound to the agent (and token) that opened it.
struct Session {
  std::string agent;
  std::string human;
  std::string chain_id;
  std::string token_id;
  std::string token;  // the token that opened (or last re-bound) the session
  // The key the DPoP proof of that request proved (RFC 9449 thumbprint); empty for a bearer
  // token. A request presenting the token without proving this key is checked anew: a
  // DPoP-bound token must not work as a bearer token on the session its owner opened.
  std::string dpop_jkt;
  std::string protocol_version;
  std::chrono::steady_clock::time_point last_used;
  bool url_elicitation = false;  // the client declared elicitation.url (MCP 2025-11-25)
};

class Sessions {
 public:
  // A new session with an unguessable id (128 bits).
  std::string open(Session session);
  // The least recently used session of `agent` acting for `human`, when they already hold
  // `limit` or more (0: no limit); nullopt otherwise. The caller ends it before opening another,
  // so one agent cannot fill the gateway's memory with sessions (counted by agent and person,
  // not by token: new tokens of the same pair, or a rebind to one, do not reset the count),
  // and what it loses is only its own oldest session.
  std::optional<std::string> evictable(const std::string& agent, const std::string& human,
                                       std::size_t limit) const;
  Session* find(const std::string& id);
  bool close(const std::string& id) { return sessions_.erase(id) > 0; }
  // Forgets sessions idle for longer than `idle`; returns their ids (their streams and relayed
  // requests are the caller's to end).
  std::vector<std::string> expire(std::chrono::steady_clock::duration idle);
  std::size_t size() const { return sessions_.size(); }

 private:
  std::map<std::string, Session> sessions_;
};

}  // namespace warden::mcp
