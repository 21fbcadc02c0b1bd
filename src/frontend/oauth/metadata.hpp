#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace warden::oauth {

// The issuer as metadata names it: the gateway's public URL without a trailing '/'.
std::string normalize_issuer(std::string_view issuer);

// RFC 8414 authorization-server metadata for warden-mcp as the OAuth 2.1 server of its /mcp
// resource: code flow with S256 PKCE only, public clients (token_endpoint_auth_method none),
// DPoP, Client ID Metadata Documents and RFC 7591 registration, RFC 9207 iss in responses.
nlohmann::json authorization_server_metadata(std::string_view issuer);

// OpenID configuration for upstreams that verify warden's minted JWT credentials the way cloud
// providers verify CI OIDC tokens: issuer, jwks_uri and the claims those JWTs carry.
nlohmann::json openid_configuration(std::string_view issuer);

// Where each document is served, relative to the issuer's origin (RFC 8414 section 3 puts the
// issuer's path after the well-known segment).
std::string authorization_server_metadata_path(std::string_view issuer);
std::string openid_configuration_path(std::string_view issuer);

}  // namespace warden::oauth
