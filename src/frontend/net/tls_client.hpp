#pragma once

#include "frontend/base/asio.hpp"

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <string>

namespace warden::mcp {

// The one TLS client context of warden-mcp (upstreams, IdP and client-metadata fetches):
// certificates verified against the system store. Callers add SNI and host-name verification
// per connection.
asio::ssl::context& client_tls_context();

// A client context like client_tls_context() that also trusts the CA certificates (PEM) in
// `ca_file`; throws std::runtime_error when the file cannot be read or holds none.
std::shared_ptr<asio::ssl::context> client_tls_context_with_ca(const std::string& ca_file);

}  // namespace warden::mcp
