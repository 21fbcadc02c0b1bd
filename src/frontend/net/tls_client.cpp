#include "frontend/net/tls_client.hpp"

namespace warden::mcp {

asio::ssl::context& client_tls_context() {
  static asio::ssl::context context = [] {
    asio::ssl::context c(asio::ssl::context::tls_client);
    c.set_default_verify_paths();
    c.set_verify_mode(asio::ssl::verify_peer);
    return c;
  }();
  return context;
}

}  // namespace warden::mcp
