#include "frontend/upstreams.hpp"

#include <iostream>

#include "frontend/http_upstream.hpp"
#include "frontend/refused_upstream.hpp"

namespace warden::mcp {

namespace {

bool same(const UpstreamRow& a, const UpstreamRow& b) {
  return a.transport == b.transport && a.endpoint == b.endpoint &&
         a.credential_kind == b.credential_kind && a.credential_env == b.credential_env;
}

}  // namespace

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
      std::shared_ptr<Upstream> upstream;
      if (row.transport == "stdio") {
        upstream = make_stdio(row);
      } else {
        upstream = make_http_upstream(ex_, row.name, row.endpoint);
      }
      next.emplace(row.name, Entry{row, std::move(upstream)});
    } catch (const std::exception& e) {
      std::cerr << "warden-mcp: skipping upstream " << row.name << ": " << e.what() << "\n";
    }
  }
  for (auto& [name, entry] : entries_) entry.upstream->shutdown();
  entries_ = std::move(next);
  std::cerr << "warden-mcp: " << entries_.size() << " upstream server(s)\n";
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

std::shared_ptr<Upstream> Upstreams::find(const std::string& name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : it->second.upstream;
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
