#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "frontend/decisions.hpp"
#include "frontend/upstream.hpp"

namespace warden::mcp {

// The upstream servers by name, as warden.upstreams() lists them. Reloading keeps an upstream
// whose definition did not change (its child process or session survives) and shuts down
// the ones removed or changed.
class Upstreams {
 public:
  explicit Upstreams(Executor ex) : ex_(std::move(ex)) {}

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
  Executor ex_;
  std::map<std::string, Entry> entries_;
};

}  // namespace warden::mcp
