#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "frontend/oauth/oauth_error.hpp"

namespace warden::oauth {

inline constexpr size_t kMaxClientNameLength = 200;
inline constexpr size_t kMaxRedirectUris = 20;
inline constexpr size_t kMaxRedirectUriLength = 2000;

// A Client ID Metadata Document that passed check_client_metadata_document.
struct ClientMetadata {
  std::string client_id;    // the document's URL
  std::string client_name;  // may be empty
  std::vector<std::string> redirect_uris;
};

// A client_id that names a metadata document: an https URL with a path other than "/", no
// userinfo, no fragment, no "." or ".." segments. Sets *reason when refused.
bool is_client_id_url(std::string_view client_id, std::string* reason = nullptr);

// A redirect URI a public client may register: absolute https, or http to a loopback host
// (native apps, RFC 8252), without a fragment.
bool is_acceptable_redirect_uri(std::string_view uri);

// Checks a fetched Client ID Metadata Document (bounded JSON): client_id equals the URL it was
// fetched from, redirect_uris is a non-empty list of acceptable URIs, client_name (optional)
// is at most kMaxClientNameLength characters without control characters, no client_secret,
// token_endpoint_auth_method (if any) is "none", grant_types and response_types (if any) only
// name the code flow and refresh. bad_client_metadata otherwise, with *reason saying which.
Outcome<ClientMetadata> check_client_metadata_document(std::string_view document_url,
                                                       std::string_view body,
                                                       std::string* reason = nullptr);

}  // namespace warden::oauth
