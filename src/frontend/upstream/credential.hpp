#pragma once

#include <string>

namespace warden::mcp {

// The credential warden.credential vended for one allowed call, as it travels upstream: in a
// request header (HTTP) or in a stdio child's environment. Never logged, never sent to agents.
struct Credential {
  std::string kind;    // "secret", "jwt" or "paseto"
  std::string header;  // the header to send it in; empty when it goes in the environment
  std::string env;     // the environment variable for a stdio child; empty when none
  std::string value;
};

}  // namespace warden::mcp
