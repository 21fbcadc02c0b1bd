#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "frontend/decisions.hpp"
#include "frontend/stdio_upstream.hpp"
#include "frontend/upstream.hpp"

namespace warden::mcp {

// The upstream servers by name, as warden.upstreams() lists them. Reloading keeps an upstream
// whose definition did not change (its child process or session survives) and shuts down
// the ones removed or changed. A stdio upstream whose command this host's policy does not admit
// is kept as refused: its calls are denied, and nothing is started.
class Upstreams {
 public:
  Upstreams(Executor ex, StdioPolicy stdio) : ex_(std::move(ex)), stdio_(std::move(stdio)) {}

  void reload(const std::vector<UpstreamRow>& rows);
  std::shared_ptr<Upstream> find(const std::string& name) const;
  // How calls to the upstream are credentialed ("none", "secret", "jwt", "paseto"); "none"
  // for an unknown name.
  std::string credential_kind(const std::string& name) const;
  std::vector<std::string> names() const;

 private:
  struct Entry {
    UpstreamRow row;
    std::shared_ptr<Upstream> upstream;
  };
  std::shared_ptr<Upstream> make_stdio(const UpstreamRow& row) const;

  Executor ex_;
  StdioPolicy stdio_;
  std::map<std::string, Entry> entries_;
};

}  // namespace warden::mcp
