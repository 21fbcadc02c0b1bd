#include "frontend/net/connection_table.hpp"

#include <utility>

namespace warden::mcp {

std::optional<std::uint64_t> ConnectionTable::admit(const std::string& address, Closer close) {
  if (count(address) >= max_per_address_) return std::nullopt;
  if (entries_.size() >= max_total_ && !shed_oldest_idle()) return std::nullopt;
  std::uint64_t id = next_id_++;
  entries_.emplace(id, Entry{address, true, std::move(close)});
  ++per_address_[address];
  return id;
}

void ConnectionTable::set_idle(std::uint64_t id, bool idle) {
  auto it = entries_.find(id);
  if (it != entries_.end()) it->second.idle = idle;
}

bool ConnectionTable::shed_oldest_idle() {
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (!it->second.idle) continue;
    Closer close = std::move(it->second.close);
    remove(it->first);
    if (close) close();
    return true;
  }
  return false;
}

void ConnectionTable::remove(std::uint64_t id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  auto count = per_address_.find(it->second.address);
  if (count != per_address_.end() && --count->second == 0) per_address_.erase(count);
  entries_.erase(it);
}

std::size_t ConnectionTable::count(const std::string& address) const {
  auto it = per_address_.find(address);
  return it == per_address_.end() ? 0 : it->second;
}

}  // namespace warden::mcp
