#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "frontend/base/asio.hpp"
#include "frontend/oauth/fetch_policy.hpp"
#include "frontend/oauth/oauth_error.hpp"

namespace warden::oauth {

struct FetchedDocument {
  unsigned status = 0;
  std::string content_type;
  std::string body;
};

struct FetchLimits {
  size_t max_body_bytes = kMaxFetchedDocumentBytes;
  std::chrono::milliseconds timeout = kFetchTimeout;  // connect, TLS, request and response
};

// GETs a Client ID Metadata Document, an IdP's discovery document or its JWKS under the SSRF
// policy: check_fetch_url, then the host is resolved once and EVERY resolved address must pass
// check_fetch_address (a name that also resolves to 127.0.0.1 is refused outright), and the
// connection goes to those checked addresses (never a second resolution). https verifies the
// certificate against the system store and the host name. A 3xx is redirect_refused; a body
// above the limit, a timeout or a network/TLS failure is fetch_failed. Other statuses are
// returned for the caller to judge. Never throws.
mcp::awaitable<Outcome<FetchedDocument>> fetch_document(std::string url, FetchOptions options,
                                                        FetchLimits limits = {});

// A form POST (an IdP's token endpoint): the body is application/x-www-form-urlencoded, the
// Authorization header (client_secret_basic) is sent when not empty.
struct FormPost {
  std::string body;
  std::string authorization;
  // Another media type for the body (a Security Event Token push, RFC 8935); empty: a form.
  std::string content_type{};
};

// fetch_document's POST twin, under the same SSRF policy and limits (no redirects followed).
mcp::awaitable<Outcome<FetchedDocument>> post_form(std::string url, FetchOptions options,
                                                   FormPost post, FetchLimits limits = {});

}  // namespace warden::oauth
