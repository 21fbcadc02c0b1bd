#include "frontend/mcp/session_channel.hpp"

namespace warden::mcp {

void SessionChannels::attach(const std::string& session, std::shared_ptr<SseStream> stream) {
  auto& slot = streams_[session];
  if (slot) slot->finish();
  slot = std::move(stream);
}

bool SessionChannels::has_standalone(const std::string& session) const {
  auto it = streams_.find(session);
  return it != streams_.end() && it->second->open();
}

bool SessionChannels::send_standalone(const std::string& session, const json& message) {
  auto it = streams_.find(session);
  if (it == streams_.end()) return false;
  if (!it->second->open()) {
    streams_.erase(it);
    return false;
  }
  it->second->push(message);
  return true;
}

std::optional<json> SessionChannels::relay_request(const std::string& session, const json& request,
                                                   Answer answer, bool bounded) {
  if (bounded) {
    std::size_t& waiting = waiting_per_session_[session];
    if (waiting >= kMaxWaitingPerSession) {
      if (answer) {
        answer(rpc_error(request["id"], rpc_code::kInvalidRequest,
                         "too many requests are waiting for the agent's answer"));
      }
      return std::nullopt;
    }
    ++waiting;
  }
  std::string id = "warden-" + std::to_string(next_++);
  waiting_[id] = Waiting{session, request["id"], std::move(answer), bounded};
  json out = request;
  out["id"] = id;
  return out;
}

void SessionChannels::withdraw(const std::string& relayed_id) {
  auto it = waiting_.find(relayed_id);
  if (it == waiting_.end()) return;
  Waiting waiting = std::move(it->second);
  waiting_.erase(it);
  if (waiting.bounded) answered(waiting.session);
  if (waiting.answer) {
    waiting.answer(rpc_error(waiting.upstream_id, rpc_code::kMethodNotFound,
                             "warden-mcp cannot reach the agent for this request"));
  }
}

void SessionChannels::answered(const std::string& session) {
  auto it = waiting_per_session_.find(session);
  if (it == waiting_per_session_.end()) return;
  if (--it->second == 0) waiting_per_session_.erase(it);
}

bool SessionChannels::deliver(const std::string& session, const json& response) {
  if (!response.contains("id") || !response["id"].is_string()) return false;
  auto it = waiting_.find(response["id"].get<std::string>());
  if (it == waiting_.end() || it->second.session != session) return false;
  Waiting waiting = std::move(it->second);
  waiting_.erase(it);
  if (waiting.bounded) answered(session);
  json back = response;
  back["id"] = waiting.upstream_id;
  if (waiting.answer) waiting.answer(std::move(back));
  return true;
}

void SessionChannels::forget(const std::string& session) {
  if (auto it = streams_.find(session); it != streams_.end()) {
    it->second->finish();
    streams_.erase(it);
  }
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (it->second.session != session) {
      ++it;
      continue;
    }
    if (it->second.answer) {
      it->second.answer(rpc_error(it->second.upstream_id, rpc_code::kInvalidRequest,
                                  "the agent's session ended"));
    }
    it = waiting_.erase(it);
  }
  waiting_per_session_.erase(session);
}

}  // namespace warden::mcp
