#include "frontend/net/tls_client.hpp"

#include <stdexcept>

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

std::shared_ptr<asio::ssl::context> client_tls_context_with_ca(const std::string& ca_file) {
  auto c = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  c->set_default_verify_paths();
  boost::system::error_code ec;
  c->load_verify_file(ca_file, ec);
  if (ec)
    throw std::runtime_error("cannot load CA certificates from " + ca_file + ": " + ec.message());
  c->set_verify_mode(asio::ssl::verify_peer);
  return c;
}

}  // namespace warden::mcp
