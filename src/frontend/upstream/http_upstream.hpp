#pragma once

#include <memory>
#include <string>

#include "frontend/upstream/upstream.hpp"

namespace warden::mcp {

// An upstream reached over Streamable HTTP (http or https, certificates verified against the
// system store). One connection per request; the upstream's session id is kept and the MCP
// handshake redone when the upstream forgets it (404). Throws UpstreamError for a bad URL.
std::shared_ptr<Upstream> make_http_upstream(const Executor& ex, std::string name,
                                             const std::string& url);

}  // namespace warden::mcp
