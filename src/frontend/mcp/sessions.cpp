#include "frontend/mcp/sessions.hpp"

#include "frontend/base/random.hpp"

namespace warden::mcp {

std::string Sessions::open(Session session) {
  std::string id = random_hex(16);
  session.last_used = std::chrono::steady_clock::now();
  sessions_[id] = std::move(session);
  return id;
}

std::optional<std::string> Sessions::evictable(const std::string& agent, const std::string& human,
                                               std::size_t limit) const {
  if (limit == 0) return std::nullopt;
  std::size_t held = 0;
  const std::pair<const std::string, Session>* oldest = nullptr;
  for (const auto& entry : sessions_) {
    if (entry.second.agent != agent || entry.second.human != human) continue;
    ++held;
    if (!oldest || entry.second.last_used < oldest->second.last_used) oldest = &entry;
  }
  if (held < limit) return std::nullopt;
  return oldest->first;
}

Session* Sessions::find(const std::string& id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return nullptr;
  it->second.last_used = std::chrono::steady_clock::now();
  return &it->second;
}

std::vector<std::string> Sessions::expire(std::chrono::steady_clock::duration idle) {
  auto cutoff = std::chrono::steady_clock::now() - idle;
  std::vector<std::string> expired;
  std::erase_if(sessions_, [&](const auto& entry) {
    if (entry.second.last_used >= cutoff) return false;
    expired.push_back(entry.first);
    return true;
  });
  return expired;
}

}  // namespace warden::mcp
