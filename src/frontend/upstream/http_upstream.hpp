#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "frontend/upstream/upstream.hpp"

namespace warden::mcp {

// How an HTTP upstream instance keeps connections between requests. The connections belong to
// one instance, that is to one agent's session with the upstream (see Upstreams): they are
// never lent to another agent.
struct HttpKeepAlive {
  std::size_t max_idle = 16;  // idle connections kept; 0: a new connection per request
  // An idle connection is closed after this long: below the 5 s a Node.js server waits before
  // closing an idle connection itself, so that a request is never written into one it closes.
  std::chrono::milliseconds idle = std::chrono::milliseconds(4000);
};

// An upstream reached over Streamable HTTP (http or https, certificates verified against the
// system store). Connections are kept alive and reused (HttpKeepAlive); a new TLS connection
// resumes an earlier TLS session with the same host when it can. The upstream's session id is
// kept and the MCP handshake redone when the upstream forgets it (404). Throws UpstreamError for
// a bad URL.
std::shared_ptr<Upstream> make_http_upstream(const Executor& ex, std::string name,
                                             const std::string& url);
// The keep-alive of the HTTP upstreams made from now on; warden-mcp sets it once at startup
// (--upstream-connections, --upstream-keepalive), before any upstream exists.
void set_http_keep_alive(HttpKeepAlive keep_alive);

}  // namespace warden::mcp
