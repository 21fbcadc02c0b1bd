#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

namespace warden::mcp {

// The HTTP listener's open connections: a total cap, a cap per client address, and the rule
// for making room. A connection is "idle" while it waits for a request (its headers or its
// body); those are what a slowloris client holds, and what a real client loses least by (it
// reconnects or sends again), so when the table is full, or the process is out of file
// descriptors, the oldest idle connection is closed first. Knows nothing of sockets: each
// connection brings its closer.
class ConnectionTable {
 public:
  using Closer = std::function<void()>;

  ConnectionTable(std::size_t max_total, std::size_t max_per_address)
      : max_total_(max_total), max_per_address_(max_per_address) {}

  // Registers a connection from `address` and returns its id, or nullopt when it must be
  // refused: its address already holds max_per_address connections, or the table is full and
  // no connection is idle (else the oldest idle one is closed to make room). New connections
  // start idle.
  std::optional<std::uint64_t> admit(const std::string& address, Closer close);
  void set_idle(std::uint64_t id, bool idle);
  // Closes the oldest idle connection (and forgets it); false when none is idle.
  bool shed_oldest_idle();
  // Forgets a connection that ended; harmless for one already shed.
  void remove(std::uint64_t id);

  std::size_t size() const { return entries_.size(); }
  std::size_t count(const std::string& address) const;

 private:
  struct Entry {
    std::string address;
    bool idle = true;
    Closer close;
  };
  std::size_t max_total_, max_per_address_;
  std::uint64_t next_id_ = 0;
  std::map<std::uint64_t, Entry> entries_;  // ids grow, so this is oldest first
  std::map<std::string, std::size_t> per_address_;
};

}  // namespace warden::mcp
