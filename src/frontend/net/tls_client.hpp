#pragma once

#include "frontend/base/asio.hpp"

#include <boost/asio/ssl/context.hpp>

namespace warden::mcp {

// The one TLS client context of warden-mcp (upstreams, IdP and client-metadata fetches):
// certificates verified against the system store. Callers add SNI and host-name verification
// per connection.
asio::ssl::context& client_tls_context();

}  // namespace warden::mcp
