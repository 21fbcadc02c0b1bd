#include "frontend/upstream/upstreams.hpp"

#include <iostream>

#include "frontend/upstream/http_upstream.hpp"
#include "frontend/upstream/refused_upstream.hpp"

namespace warden::mcp {

namespace {

bool same(const UpstreamRow& a, const UpstreamRow& b) {
  return a.transport == b.transport && a.endpoint == b.endpoint &&
         a.credential_kind == b.credential_kind && a.credential_env == b.credential_env;
}

}  // namespace

void Upstreams::shut_down(std::map<std::string, Instance>& agents) {
  for (auto& [agent, instance] : agents) instance.upstream->shutdown();
  agents.clear();
}

void Upstreams::reload(const std::vector<UpstreamRow>& rows) {
  std::map<std::string, Entry> next;
  for (const auto& row : rows) {
    auto it = entries_.find(row.name);
    if (it != entries_.end() && same(it->second.row, row)) {
      next.emplace(row.name, std::move(it->second));
      entries_.erase(it);
      continue;
    }
    try {
      Entry entry{row, nullptr, nullptr, {}};
      // Checked now, once: a command this host does not admit is refused for every agent.
      if (row.transport == "stdio") {
        std::shared_ptr<Upstream> probe = make_stdio(row);
        if (std::dynamic_pointer_cast<RefusedUpstream>(probe)) entry.refused = probe;
        entry.rules = probe;  // a StdioUpstream starts its child on first request only
      } else {
        // Throws on a URL it cannot use; connects on first request only.
        entry.rules = make_http_upstream(ex_, row.name, row.endpoint);
      }
      next.emplace(row.name, std::move(entry));
    } catch (const std::exception& e) {
      std::cerr << "warden-mcp: skipping upstream " << row.name << ": " << e.what() << "\n";
    }
  }
  for (auto& [name, entry] : entries_) {
    shut_down(entry.agents);
    if (entry.refused) entry.refused->shutdown();
  }
  entries_ = std::move(next);
  std::cerr << "warden-mcp: " << entries_.size() << " upstream server(s)\n";
}

std::shared_ptr<Upstream> Upstreams::make(const UpstreamRow& row) const {
  if (row.transport == "stdio") return make_stdio(row);
  return make_http_upstream(ex_, row.name, row.endpoint);
}

void Upstreams::reap_idle(std::chrono::steady_clock::time_point now) {
  for (auto& [name, entry] : entries_) {
    for (auto it = entry.agents.begin(); it != entry.agents.end();) {
      // use_count 1: only this map holds it, so no call of that agent is running on it.
      if (now - it->second.last_used > sharing_.idle && it->second.upstream.use_count() == 1) {
        it->second.upstream->shutdown();
        it = entry.agents.erase(it);
      } else {
        ++it;
      }
    }
  }
}

std::shared_ptr<Upstream> Upstreams::find(const std::string& name, const std::string& agent) {
  auto it = entries_.find(name);
  if (it == entries_.end()) return nullptr;
  Entry& entry = it->second;
  if (entry.refused) return entry.refused;
  auto now = std::chrono::steady_clock::now();
  reap_idle(now);
  auto mine = entry.agents.find(agent);
  if (mine != entry.agents.end()) {
    mine->second.last_used = now;
    return mine->second.upstream;
  }
  if (entry.agents.size() >= sharing_.max_agents_per_upstream) {
    // Make room from the least recently used instance nobody is calling through.
    auto oldest = entry.agents.end();
    for (auto i = entry.agents.begin(); i != entry.agents.end(); ++i) {
      if (i->second.upstream.use_count() == 1 &&
          (oldest == entry.agents.end() || i->second.last_used < oldest->second.last_used)) {
        oldest = i;
      }
    }
    if (oldest == entry.agents.end()) {
      throw UpstreamError("upstream " + name + " already serves its maximum of " +
                          std::to_string(sharing_.max_agents_per_upstream) +
                          " agents, all busy; try again later");
    }
    oldest->second.upstream->shutdown();
    entry.agents.erase(oldest);
  }
  std::shared_ptr<Upstream> upstream = make(entry.row);
  entry.agents.emplace(agent, Instance{upstream, now});
  return upstream;
}

std::optional<std::string> Upstreams::refusal_before_decision(
    const std::string& name, const std::string& agent, const std::string& credential_kind) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) return std::nullopt;
  const Entry& entry = it->second;
  std::optional<Credential> would_carry;
  if (credential_kind != "none") {
    would_carry = Credential{credential_kind, "", "", "(not vended: asked before the decision)"};
  }
  const std::shared_ptr<Upstream>& rules = entry.refused ? entry.refused : entry.rules;
  if (rules) {
    if (auto refused = rules->refusal(would_carry)) return refused;
  }
  if (entry.refused || entry.agents.count(agent) != 0 ||
      entry.agents.size() < sharing_.max_agents_per_upstream) {
    return std::nullopt;
  }
  for (const auto& [other, instance] : entry.agents) {
    if (instance.upstream.use_count() == 1) return std::nullopt;  // find() can reuse its room
  }
  return "no_room";
}

std::size_t Upstreams::open_instances() const {
  std::size_t n = 0;
  for (const auto& [name, entry] : entries_) n += entry.agents.size();
  return n;
}

std::shared_ptr<Upstream> Upstreams::make_stdio(const UpstreamRow& row) const {
  constexpr const char* kNotAllowed = "stdio_command_not_allowed";
  if (!stdio_.allowlist) {
    std::cerr << "warden-mcp: refusing stdio upstream " << row.name
              << ": no --stdio-allow FILE was given, so no stdio upstream may run on this host\n";
    return std::make_shared<RefusedUpstream>(row.name, kNotAllowed);
  }
  std::optional<StdioAllowlist::Launch> launch;
  try {
    launch = stdio_.allowlist->admit(row.endpoint, stdio_.resolve);
  } catch (const std::invalid_argument& e) {
    std::cerr << "warden-mcp: refusing stdio upstream " << row.name << ": its command "
              << row.endpoint << " cannot be split into words: " << e.what() << "\n";
    return std::make_shared<RefusedUpstream>(row.name, kNotAllowed);
  }
  if (!launch) {
    std::cerr << "warden-mcp: refusing stdio upstream " << row.name << ": its command "
              << row.endpoint << " is not allowed by " << stdio_.allowlist_path
              << " (add it, or a prefix of it, as a line there and restart warden-mcp)\n";
    return std::make_shared<RefusedUpstream>(row.name, kNotAllowed);
  }
  return std::make_shared<StdioUpstream>(ex_, row.name, std::move(*launch), stdio_.user);
}

std::string Upstreams::credential_kind(const std::string& name) const {
  auto it = entries_.find(name);
  return it == entries_.end() || it->second.row.credential_kind.empty()
             ? std::string("none")
             : it->second.row.credential_kind;
}

std::vector<std::string> Upstreams::names() const {
  std::vector<std::string> out;
  for (const auto& [name, entry] : entries_) out.push_back(name);
  return out;
}

}  // namespace warden::mcp
